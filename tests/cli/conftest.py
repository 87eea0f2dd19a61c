"""Fixtures for the CLI tests (helpers live in tests/cli/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import FLOWS
from tests.support import on_backend


@pytest.fixture(params=["embedded", "sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path, kitaru_home: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory with the test flows in `flows.py`, on each backend: the embedded store (the test's
    KITARU_HOME), or a fresh server on SQLite or PostgreSQL that the CLI and SDK are connected to."""
    (tmp_path / "flows.py").write_text(FLOWS)
    with on_backend(request.param, tmp_path, monkeypatch):
        yield tmp_path
