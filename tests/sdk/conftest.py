"""The SDK suite runs on every backend: the embedded store, and fresh servers on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import on_backend


@pytest.fixture(autouse=True, params=["embedded", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, kitaru_home: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Connect this test (and the processes it starts) to a fresh server, unless it runs embedded."""
    with on_backend(request.param, tmp_path, monkeypatch):
        yield request.param
