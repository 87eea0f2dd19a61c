"""`LocalServer`: a real `kitaru server up` subprocess on a free loopback port, for tests of the core and plugins."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Self

import httpx

from kitaru.testing._forked import ForkedProcess, launch, signal_session


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_ANNOUNCED = re.compile(r"Kitaru server on http://\S+?:(\d+)")

SERVER_TUNABLES = frozenset({"KITARU_JOB_GRACE", "KITARU_CANCEL_GRACE", "KITARU_DISPATCH_GRACE"})
"""Reconciler timings a test may set for its server too (every other KITARU_* variable stays out)."""


class LocalServer:
    """One Kitaru server process; it can be SIGKILLed and restarted on the same port and database.

    It inherits this process's environment minus every `KITARU_*` variable but `SERVER_TUNABLES` (plus `env`), so a test's
    own connection settings never leak into the server. `admin_key` is the bootstrap admin API key;
    without `signing_key` the server keeps its token signing key in its database (as in production).
    """

    def __init__(self, database_url: str, home: Path, *, port: int = 0, admin_key: str | None = None,
                 signing_key: str | None = None, env: dict[str, str] | None = None) -> None:
        self.database_url, self.home = database_url, home
        self.port = port
        """The server's port: `port`, else (0) the free one it binds and announces on its first start."""
        self.admin_key = admin_key or f"kit_test-admin-{uuid.uuid4().hex}"
        self.signing_key = signing_key
        self.extra_env = dict(env or {})
        self.proc: ForkedProcess | subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait (bounded) until /ready answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_") or k in SERVER_TUNABLES}
        root = str(Path(__file__).resolve().parents[2])
        env.update(PYTHONPATH=os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p),
                   KITARU_HOME=str(self.home), KITARU_BOOTSTRAP_API_KEY=self.admin_key, **self.extra_env)
        if self.signing_key:
            env["KITARU_SERVER_SECRET_KEY"] = self.signing_key
        logged = self.log.stat().st_size if self.log.exists() else 0
        self.proc = launch(["--port", str(self.port), "--database-url", self.database_url], env, self.log)
        try:
            self._wait_ready(logged, time.monotonic() + timeout)
        except BaseException:
            self.kill()  # never leave a server behind that the caller has no handle to stop
            raise

    def _wait_ready(self, logged: int, deadline: float) -> None:
        """Poll until the server announced its port (if it picks one) and /ready answers there."""
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            if not self.port:
                self.port = self._announced_port(logged)
            elif self._ready():
                return
            time.sleep(0.01)
        raise TimeoutError(f"server did not become ready: {self.log.read_text()[-3000:]}")

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (its port is known once it started)."""
        return f"http://127.0.0.1:{self.port}"

    def _announced_port(self, offset: int) -> int:
        """The port in the server's `Kitaru server on http://HOST:PORT` line, logged after `offset`; 0 until then."""
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                found = _ANNOUNCED.search(log.read().decode(errors="replace"))
        except FileNotFoundError:  # the server has not opened its log yet
            return 0
        return int(found.group(1)) if found else 0

    def _ready(self) -> bool:
        """Whether /ready answers 200 (a bare HTTP/1.1 request: an httpx client per poll costs more than the poll)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request("GET", "/ready")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    @property
    def pid(self) -> int:
        """The server process's id (once started)."""
        if self.proc is None:
            raise RuntimeError("the server was never started; call start() first")
        return self.proc.pid

    def token(self, **extra: object) -> str:
        """Exchange the bootstrap admin key for a bearer token (`extra` goes into the exchange request)."""
        resp = httpx.post(f"{self.url}/api/v1/auth/token", json={"api_key": self.admin_key, **extra}, timeout=10)
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    def kill(self) -> None:
        """SIGKILL the server (and wait for it)."""
        if self.proc is not None and self.proc.poll() is None:
            signal_session(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            signal_session(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
