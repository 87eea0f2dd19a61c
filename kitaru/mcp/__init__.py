"""`kitaru.mcp`: the MCP server (`kitaru mcp`) over the Kitaru client.

Not in this installation yet: `serve()` raises KitaruFeatureNotAvailableError.
"""

from __future__ import annotations

from typing import Any, NoReturn

from kitaru.errors import KitaruFeatureNotAvailableError

__all__ = ["serve"]


def serve(*args: Any, **kwargs: Any) -> NoReturn:
    """Run the MCP server on stdio (not available yet)."""
    raise KitaruFeatureNotAvailableError("kitaru.mcp", provided_by="the `mcp` extra of a later Kitaru release"
                                         " (`pip install 'kitaru[mcp]'`)")
