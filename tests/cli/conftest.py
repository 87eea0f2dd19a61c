"""Fixtures for the CLI tests (helpers live in tests/cli/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import FLOWS


@pytest.fixture(params=["embedded", "sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path, kitaru_home: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory with the test flows in `flows.py`, on each backend: the embedded store (the test's
    KITARU_HOME), or a fresh server on SQLite or PostgreSQL that the CLI and SDK are connected to."""
    (tmp_path / "flows.py").write_text(FLOWS)
    if request.param == "embedded":
        yield tmp_path
        return
    from tests.server.conftest import start_server

    server, cleanup = start_server(request.param, tmp_path / "server")
    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    try:
        yield tmp_path
    finally:
        cleanup()  # type: ignore[operator]
