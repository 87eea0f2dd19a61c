"""A fake SageMaker control plane per test; a fresh KITARU_HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru_sagemaker.testing import FakeSageMaker

from sm_helpers import IMAGE


@pytest.fixture
def fake() -> Iterator[FakeSageMaker]:
    """A fresh fake control plane (short stop grace so cancel tests stay quick)."""
    with FakeSageMaker(stop_grace=1.0) as sm:
        yield sm


@pytest.fixture
def orchestrator(fake: FakeSageMaker) -> Any:
    """The `sagemaker` orchestrator on the fake, with explicit (dummy) keys."""
    return fake.orchestrator(image=IMAGE)


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KITARU_HOME per test (kitaru.testing.isolated_home, the default lease)."""
    from kitaru.testing import isolated_home

    with isolated_home(tmp_path, monkeypatch, lease_ttl=None) as home:
        yield home
