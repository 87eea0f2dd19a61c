"""The Kitaru server (FastAPI): imported only when serving, never by `import kitaru`."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def create_app(database_url: str, **kwargs: Any) -> Any:
    """Build the FastAPI app over the state store at `database_url`."""
    from kitaru.server._app import create_app as _create

    return _create(database_url, **kwargs)
