"""The state store: schema, migrations and the service layer over SQLite or PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

from kitaru.store.service import CancelRequested, LeaseLost, StateService, new_exec_id

__all__ = ["CancelRequested", "LeaseLost", "StateService", "current_state", "new_exec_id", "open_state"]

_lock = threading.Lock()
_open: dict[Path, StateService] = {}


def open_state(home: Path) -> StateService:
    """The embedded state service for a Kitaru home directory (created on first use)."""
    with _lock:
        state = _open.get(home)
        if state is None:
            from kitaru.store._sqlite import SQLiteDatabase

            state = StateService(SQLiteDatabase(home / "kitaru.db"))
            _open[home] = state
        return state


def current_state() -> StateService:
    """The state service this process talks to (the embedded store of the resolved home)."""
    from kitaru.config._paths import resolve_home

    return open_state(resolve_home())
