"""Real servers for the server suite: `kitaru server up` subprocesses (kitaru.testing.LocalServer)."""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru.testing import LocalServer

PG_ADMIN = os.environ.get("KITARU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ADMIN_KEY = "kit_test-admin-" + uuid.uuid4().hex
SECRET_KEY = "test-signing-key-" + uuid.uuid4().hex


class ServerProcess(LocalServer):
    """The suite's server: the shared admin key and signing key, so tests can forge and exchange tokens."""

    def __init__(self, database_url: str, home: Path) -> None:
        super().__init__(database_url, home, admin_key=ADMIN_KEY, signing_key=SECRET_KEY)


class _Databases:
    """PostgreSQL databases for this test process.

    A migrated database starts as a copy of a template migrated once per process. After its test, a
    background thread empties it (TRUNCATE of every table but the migration version, sequences restarted,
    its connections closed) and the next test gets it: as clean as a fresh copy, without the second or more
    that CREATE and DROP DATABASE each take on a busy disk. One whose schema a test changed is dropped, and so
    is every unmigrated one, by the same thread: DROP DATABASE waits for every backend (15 s seen under load),
    and no test needs to wait for it.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.admin: Any = None
        self.template: str | None = None
        self.schema: list[tuple[str, ...]] = []
        self.clean: queue.Queue[str] = queue.Queue()
        self.dirty: queue.Queue[str | None] = queue.Queue()
        self.reusable: set[str] = set()  # migrated databases (emptied for reuse, not dropped)
        self.worker: threading.Thread | None = None

    def connect(self, name: str | None = None) -> Any:
        import psycopg

        dsn = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
        if name is not None:
            dsn = dsn.rsplit("/", 1)[0] + f"/{name}"
        try:
            return psycopg.connect(dsn, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL is not reachable at {dsn}: {exc}; start it (see .ci/run)")

    def create(self, *, migrated: bool) -> str:
        """A new database: empty, or (`migrated`) at the current schema with no rows; its name."""
        if migrated:
            with contextlib.suppress(queue.Empty):
                return self.clean.get_nowait()
        name = f"kitaru_s_{uuid.uuid4().hex[:10]}"
        with self.lock:
            if self.admin is None:
                self.admin = self.connect()
            if migrated and self.template is None:
                self.template = self._migrated_template()
            template = f' TEMPLATE "{self.template}" STRATEGY WAL_LOG' if migrated else ""
            self.admin.execute(f'CREATE DATABASE "{name}"{template}')
            if migrated:
                self.reusable.add(name)
        return name

    def _migrated_template(self) -> str:
        """Create and migrate this process's template (the server's own migration, as on a first start)."""
        from kitaru.server._app import open_database

        name = f"kitaru_t_{uuid.uuid4().hex[:10]}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        open_database(url_of(name)).close()  # migrates; no connection may stay open on a template
        conn = self.connect(name)
        self.schema = self._schema(conn)
        conn.close()
        return name

    @staticmethod
    def _schema(conn: Any) -> list[tuple[str, ...]]:
        """The tables, columns, indexes and migration version of a database (to tell a changed schema)."""
        columns = conn.execute("SELECT table_schema, table_name, column_name, data_type"
                               " FROM information_schema.columns WHERE table_schema"
                               " NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3").fetchall()
        indexes = conn.execute("SELECT schemaname, indexname, indexdef FROM pg_indexes"
                               " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2").fetchall()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        return [tuple(row) for row in (*columns, *indexes, *version)]

    def drop(self, name: str) -> None:
        """Done with `name`: in the background, a migrated one is emptied for the next test, others dropped."""
        with self.lock:
            if self.worker is None:
                self.worker = threading.Thread(target=self._reset_loop, name="pg-reset", daemon=True)
                self.worker.start()
                atexit.register(self.finish)
        self.dirty.put(name)

    def _reset_loop(self) -> None:
        admin = self.connect()
        try:
            while (name := self.dirty.get()) is not None:
                try:
                    if name not in self.reusable:
                        raise LookupError(f"{name} is not a migrated database")
                    self._reset(admin, name)
                except Exception:  # noqa: BLE001 - not reusable: drop it, a later test gets a fresh copy
                    self.reusable.discard(name)
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                else:
                    self.clean.put(name)
        finally:
            admin.close()

    def _reset(self, admin: Any, name: str) -> None:
        """Close every connection to `name`, then empty it; raise if its schema is not the template's."""
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        conn = self.connect(name)
        try:
            if self._schema(conn) != self.schema:
                raise RuntimeError(f"the schema of {name} changed")
            tables = [row[0] for row in conn.execute("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename)"
                                                     " FROM pg_tables WHERE schemaname = 'public'"
                                                     " AND tablename <> 'alembic_version'").fetchall()]
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        finally:
            conn.close()

    def finish(self) -> None:
        """Stop resetting, drop every database this process made (at the end of the session)."""
        with self.lock:
            worker, template, self.worker, self.template = self.worker, self.template, None, None
        if worker is None:
            return
        self.dirty.put(None)
        worker.join(timeout=120)
        leftovers = [template]
        for q in (self.dirty, self.clean):
            while not q.empty():
                leftovers.append(q.get())
        for name in filter(None, leftovers):
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DATABASES = _Databases()


def url_of(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the test PostgreSQL."""
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def pg_database(*, migrated: bool = False) -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL database (empty, or already migrated: a copy of a template migrated once per test
    process); its URL and a dropper."""
    name = DATABASES.create(migrated=migrated)
    return url_of(name), lambda: DATABASES.drop(name)


def start_server(kind: str, tmp: Path) -> tuple[ServerProcess, object]:
    """A running server on SQLite or PostgreSQL, and its cleanup."""
    drop = None
    if kind == "postgresql":
        url, drop = pg_database(migrated=True)
    else:
        url = f"sqlite:///{tmp / 'server.db'}"
    server = ServerProcess(url, tmp / "server-home")
    server.start()

    def cleanup() -> None:
        server.kill()  # its database is thrown away: nothing to shut down gracefully for
        if drop is not None:
            drop()  # type: ignore[operator]

    return server, cleanup


@pytest.fixture(scope="module", params=["embedded", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess | None]:
    """None for the embedded store, else a live server (one per module and backend)."""
    if request.param == "embedded":
        yield None
        return
    server, cleanup = start_server(request.param, tmp_path_factory.mktemp(f"srv-{request.param}"))
    yield server
    cleanup()  # type: ignore[operator]


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A live server on SQLite for auth and API tests."""
    server, cleanup = start_server("sqlite", tmp_path_factory.mktemp("srv-auth"))
    yield server
    cleanup()  # type: ignore[operator]


@pytest.fixture
def connected(backend: ServerProcess | None, monkeypatch: pytest.MonkeyPatch) -> ServerProcess | None:
    """Point the SDK (and processes started from here) at the backend through the environment."""
    if backend is not None:
        monkeypatch.setenv("KITARU_SERVER_URL", backend.url)
        monkeypatch.setenv("KITARU_API_KEY", ADMIN_KEY)
    return backend


def admin_token(server: ServerProcess, **extra: object) -> str:
    """Exchange the bootstrap admin key for a token."""
    return server.token(**extra)
