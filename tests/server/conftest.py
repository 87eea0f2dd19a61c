"""Real servers for the server suite: `kitaru server up` as a uvicorn subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

PG_ADMIN = os.environ.get("KITARU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ADMIN_KEY = "kit_test-admin-" + uuid.uuid4().hex
SECRET_KEY = "test-signing-key-" + uuid.uuid4().hex
KITARU_BIN = str(Path(sys.executable).with_name("kitaru"))


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """One `kitaru server up` subprocess; can be SIGKILLed and restarted on the same port and database."""

    def __init__(self, database_url: str, home: Path) -> None:
        self.database_url, self.home, self.port = database_url, home, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait (bounded) until /ready answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
        env.update(PYTHONPATH=str(ROOT), KITARU_HOME=str(self.home), KITARU_BOOTSTRAP_API_KEY=ADMIN_KEY,
                   KITARU_SERVER_SECRET_KEY=SECRET_KEY)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "kitaru.server", "--port", str(self.port), "--database-url",
                                          self.database_url], env=env, stdout=log, stderr=log,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"server did not become ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the server (and wait for it)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


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
    resp = httpx.post(f"{server.url}/api/v1/auth/token", json={"api_key": ADMIN_KEY, **extra}, timeout=10)
    resp.raise_for_status()
    return str(resp.json()["access_token"])
