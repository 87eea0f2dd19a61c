"""The memory suite runs on every backend: the embedded store, and fresh servers on SQLite and PostgreSQL."""

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


@pytest.fixture(autouse=True)
def _memory_defaults() -> Iterator[None]:
    """Every test starts (and ends) without process-wide memory defaults."""
    import kitaru.memory

    kitaru.memory.configure()
    yield
    kitaru.memory.configure()
