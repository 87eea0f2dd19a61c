"""`kitaru.adapters.pydantic_ai`: run a PydanticAI agent durably inside a flow (Kitaru 0.4).

Not in this installation yet: `wrap` and `hitl_tool` raise KitaruFeatureNotAvailableError.
"""

from __future__ import annotations

from typing import Any, NoReturn

from kitaru.errors import KitaruFeatureNotAvailableError

__all__ = ["hitl_tool", "wrap"]

_PROVIDED_BY = "the `pydantic-ai` extra of a later Kitaru release (`pip install 'kitaru[pydantic-ai]'`)"


def wrap(*args: Any, **kwargs: Any) -> NoReturn:
    """Wrap an agent so its model requests and tool calls are journaled (not available yet)."""
    raise KitaruFeatureNotAvailableError("kitaru.adapters.pydantic_ai.wrap()", provided_by=_PROVIDED_BY)


def hitl_tool(*args: Any, **kwargs: Any) -> NoReturn:
    """Turn a tool into a flow-level kitaru.wait (not available yet)."""
    raise KitaruFeatureNotAvailableError("kitaru.adapters.pydantic_ai.hitl_tool()", provided_by=_PROVIDED_BY)
