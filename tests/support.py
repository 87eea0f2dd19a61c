"""Shared fixtures: every test gets its own Kitaru home; nothing touches the real one."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KITARU_HOME per test, non-interactive waits, 3 s leases (kitaru.testing.isolated_home)."""
    from kitaru.testing import isolated_home

    with isolated_home(tmp_path, monkeypatch) as home:
        yield home


@contextlib.contextmanager
def on_backend(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the enclosed test on `kind`: the embedded store, or a fresh server ("sqlite", "postgresql") that
    this process and the processes it starts are connected to through the environment."""
    if kind == "embedded":
        yield
        return
    from tests.server.support import start_server

    server, cleanup = start_server(kind, tmp_path / "server")
    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    try:
        yield
    finally:
        cleanup()  # type: ignore[operator]


@pytest.fixture
def flow_file(tmp_path: Path):
    """Write a flow module to a real file (runner processes re-import it) and return its path."""

    def write(source: str, name: str = "agent_flows.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return path

    return write


def run_script(path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a Python file in a fresh interpreter with the test's Kitaru environment."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=path.parent)


@pytest.fixture
def flow_module(flow_file, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], Any]]:
    """Write flow source to a real importable module (runners re-import it) and import it here.

    The module gets `marks()` (lines its checkpoints appended to $MARKS) and `path`.
    """
    marks = tmp_path / "marks.txt"
    marks.touch()
    monkeypatch.setenv("MARKS", str(marks))
    loaded: list[str] = []

    def load(source: str, name: str) -> Any:
        import importlib.util

        path = flow_file(source, name=f"{name}.py")
        monkeypatch.syspath_prepend(str(path.parent))
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        module.marks = lambda: marks.read_text().split()
        module.path = path
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


class _Http:
    """httpx's one-shot functions (`http.get(url)`), over one TLS context: `httpx.get` builds a client per call,
    and with it a certificate store (about 30 ms each, most of a fast route's test)."""

    _tls: ssl.SSLContext | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._tls is None:
            type(self)._tls = ssl.create_default_context()
        return httpx.request(method, url, verify=self._tls, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


http = _Http()


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.02) -> None:
    """Poll until `predicate()` is true; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(interval)
