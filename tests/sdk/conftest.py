"""The SDK suite runs on every backend: the embedded store, and fresh servers on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, params=["embedded", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, kitaru_home: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Connect this test (and the processes it starts) to a fresh server, unless it runs embedded."""
    if request.param == "embedded":
        yield request.param
        return
    from tests.server.conftest import start_server

    server, cleanup = start_server(request.param, tmp_path / "server")
    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    try:
        yield request.param
    finally:
        cleanup()  # type: ignore[operator]
