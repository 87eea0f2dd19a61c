"""The state store: schema, migrations and the service layer over SQLite or PostgreSQL (or a server)."""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.store._protocol import ServerLink, StateStore
from kitaru.store.service import CancelRequested, LeaseLost, StateService, new_exec_id

if TYPE_CHECKING:
    from kitaru.store._remote import RemoteStateService

__all__ = [
    "CancelRequested",
    "LeaseLost",
    "ServerLink",
    "StateService",
    "StateStore",
    "acting_as",
    "acting_state",
    "connect",
    "current_state",
    "disconnect",
    "execution_scoped",
    "is_remote",
    "new_exec_id",
    "open_state",
]

_lock = threading.Lock()
_open: dict[Path, StateService] = {}
_remotes: dict[tuple[Any, ...], StateStore] = {}
_embedded_only = False  # set in the server process: it *is* the store
_override: StateStore | None = None  # set by connect()
interactive_retry_seconds: float | None = None  # the CLI gives up sooner than a runtime when a server is down


def is_remote(state: StateStore) -> bool:
    """Whether `state` talks to a Kitaru server rather than opening the database in this process."""
    return state.server is not None


_acting: contextvars.ContextVar[StateStore | None] = contextvars.ContextVar("kitaru_acting_state", default=None)


def execution_scoped(state: StateStore, exec_id: str) -> StateStore:
    """The state an execution's runtime acts with: on a server, one holding a token scoped to that execution
    (what a dispatched runner gets, also when the flow runs inline in a user's process); else `state`."""
    return state.for_execution(exec_id)


@contextlib.contextmanager
def acting_as(state: StateStore) -> Iterator[None]:
    """While an execution runs, SDK calls in its body (secrets, model aliases, stacks) use its runtime's state."""
    token = _acting.set(state if is_remote(state) else None)
    try:
        yield
    finally:
        _acting.reset(token)


def acting_state() -> StateStore | None:
    """The remote state of the execution running in this context (see `acting_as`), if any."""
    return _acting.get()


def _connected() -> StateStore | None:
    """The remote state service when a server connection is configured (env or `kitaru login`), else None."""
    if _embedded_only:
        return None
    acting = _acting.get()
    if acting is not None:
        return acting
    if _override is not None:
        return _override
    from kitaru.store._connection import active_connection

    conn = active_connection()
    if conn is None:
        return None
    tls = conn.get("tls") or {}
    key = (conn["url"], conn["token"], conn["api_key"], tuple(sorted(tls.items())))
    with _lock:
        state = _remotes.get(key)
        if state is None:
            from kitaru.store._remote import RemoteStateService

            state = RemoteStateService(conn["url"], token=conn["token"], api_key=conn["api_key"],
                                       retry_seconds=None if "KITARU_CLIENT_RETRY_SECONDS" in os.environ
                                       else interactive_retry_seconds, **tls)
            _remotes[key] = state
        return state


def open_state(home: Path) -> StateStore:
    """The state store for a Kitaru home: the connected server if any, else the embedded store (created on first use)."""
    remote = _connected()
    if remote is not None:
        return remote
    with _lock:
        state = _open.get(home)
        if state is None:
            from kitaru.config._paths import ensure_gitignore
            from kitaru.store._sqlite import SQLiteDatabase

            state = StateService(SQLiteDatabase(home / "kitaru.db"))
            ensure_gitignore(home)
            _open[home] = state
        return state


def current_state() -> StateStore:
    """The state service this process talks to (a connected server, else the embedded store of the resolved home)."""
    from kitaru.config._paths import resolve_home

    return open_state(resolve_home())


def connect(url: str, *, api_key: str | None = None, token: str | None = None, save: bool = False,
            project: str | None = None, **tls: Any) -> RemoteStateService:
    """Point this process (and the runners it starts) at a Kitaru server; `save=True` also persists it like
    `kitaru login`. `tls`: timeout, verify_ssl, ssl_ca_cert (saved with the login)."""
    global _override
    from kitaru.store._remote import RemoteStateService

    if not api_key and not token:
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError("connect needs api_key= (or token=); create a key with `kitaru auth api-keys create`")
    state = RemoteStateService(url, token=token, api_key=api_key, **{k: v for k, v in tls.items() if v is not None})
    state.http.token()  # fail now if the server or the key is wrong
    if save and api_key:
        from kitaru.store._connection import save_connection

        save_connection(state.url, api_key, project=project, **tls)
    _override = state
    return state


def disconnect() -> None:
    """Forget a `connect()` of this process (env and saved logins still apply)."""
    global _override
    _override = None
