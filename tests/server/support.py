"""Real servers for the server suite: `kitaru server up` subprocesses (kitaru.testing.LocalServer)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru.testing import LocalServer

PG_ADMIN = os.environ.get("KITARU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ADMIN_KEY = "kit_test-admin-" + uuid.uuid4().hex
SECRET_KEY = "test-signing-key-" + uuid.uuid4().hex
KITARU_BIN = str(Path(sys.executable).with_name("kitaru"))


class ServerProcess(LocalServer):
    """The suite's server: the shared admin key and signing key, so tests can forge and exchange tokens."""

    def __init__(self, database_url: str, home: Path) -> None:
        super().__init__(database_url, home, admin_key=ADMIN_KEY, signing_key=SECRET_KEY)


def pg_database() -> tuple[str, object]:
    """Create a fresh PostgreSQL database; return its URL and a dropper."""
    import psycopg

    name = f"kitaru_s_{uuid.uuid4().hex[:10]}"
    dsn = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {dsn}: {exc}; start it (see .ci/run)")
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def start_server(kind: str, tmp: Path) -> tuple[ServerProcess, object]:
    """A running server on SQLite or PostgreSQL, and its cleanup."""
    drop = None
    if kind == "postgresql":
        url, drop = pg_database()
    else:
        url = f"sqlite:///{tmp / 'server.db'}"
    server = ServerProcess(url, tmp / "server-home")
    server.start()

    def cleanup() -> None:
        server.stop()
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
