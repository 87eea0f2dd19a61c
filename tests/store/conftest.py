"""The state store suite runs on every `StateStore`: the embedded SQLite service, the service on PostgreSQL
(through SQLAlchemy, and through the server's psycopg driver) and the HTTP client against a real server."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru.store import StateService, StateStore

SQL_BACKENDS = ["sqlite", "postgresql", "psycopg"]
BACKENDS = [*SQL_BACKENDS, "server"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped in the background afterwards, tests/server/support.py)."""
    pytest.importorskip("psycopg")
    from tests.server.support import pg_database

    url, drop = pg_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def migrated_pg_url() -> Iterator[str]:
    """A PostgreSQL database at the current schema with no rows: a copy of a template migrated once per test
    process, emptied and reused after each test (tests/server/support.py)."""
    pytest.importorskip("psycopg")
    from tests.server.support import pg_database

    url, drop = pg_database(migrated=True)
    try:
        yield url
    finally:
        drop()


@pytest.fixture(params=BACKENDS)
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """One `StateStore` per backend: the same tests, the same expected behaviour."""
    if request.param == "server":
        yield from _served(tmp_path, request.getfixturevalue("monkeypatch"))
    else:
        yield from _sql_service(request, tmp_path)


@pytest.fixture(params=SQL_BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateService]:
    """The state service itself on each database (for tests of what only the store side has: its SQL, leases)."""
    yield from _sql_service(request, tmp_path)


def _sql_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateService]:
    """The state service on SQLite (embedded), PostgreSQL through SQLAlchemy, or PostgreSQL through psycopg."""
    if request.param == "sqlite":
        from kitaru.store._sqlite import SQLiteDatabase

        db = SQLiteDatabase(tmp_path / "state.db")
        service = StateService(db)
    elif request.param == "postgresql":
        from kitaru.store._sqlalchemy import SQLAlchemyDatabase

        db = SQLAlchemyDatabase(request.getfixturevalue("migrated_pg_url"))
        service = StateService(db)
    else:
        from kitaru.store._pg import PgStateService, PsycopgDatabase

        db = PsycopgDatabase(request.getfixturevalue("migrated_pg_url"))
        service = PgStateService(db)
    yield service
    db.close()


def _served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StateStore]:
    """RemoteStateService over real HTTP to a Kitaru server (uvicorn in a thread of this process) on a fresh
    SQLite database, authenticated as the bootstrap admin. Its periodic reconciler is off: these tests call
    `expire_lost_runners` themselves and must not race a background pass (tests/server cover the loop)."""
    import uvicorn

    from kitaru.server import create_app
    from kitaru.store._remote import RemoteStateService
    from kitaru.server._serve import listen_on_free_port

    monkeypatch.setenv("KITARU_SERVER_RECONCILE_INTERVAL", "0")
    app = create_app(f"sqlite:///{tmp_path / 'server.db'}", home=tmp_path / "server-home")
    admin_key = f"kit_test-admin-{uuid.uuid4().hex}"
    app.state.kitaru.identity.ensure_bootstrap_admin(admin_key)
    listener = listen_on_free_port("127.0.0.1")  # bound before anyone else can take the port
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="kitaru-test-server",
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the in-process Kitaru server did not start within 30 s")
        time.sleep(0.01)
    client = RemoteStateService(f"http://127.0.0.1:{port}", api_key=admin_key, retry_seconds=5)
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
        app.state.kitaru.state.close()
