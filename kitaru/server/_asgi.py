"""ASGI entry points for uvicorn (`kitaru server up` runs `app_from_env` as a factory)."""

from __future__ import annotations

import os
from typing import Any


def database_url_from_env() -> str:
    """KITARU_DATABASE_URL, else a SQLite file in the Kitaru home (a single-machine team server)."""
    url = os.environ.get("KITARU_DATABASE_URL")
    if url:
        return url
    from kitaru.config._paths import resolve_home

    home = resolve_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'server.db'}"


def app_from_env() -> Any:
    """The app over KITARU_DATABASE_URL (one per uvicorn worker)."""
    import kitaru.store
    from kitaru.server._app import create_app

    kitaru.store._embedded_only = True  # this process is the store: never talk to a server itself
    return create_app(database_url_from_env())
