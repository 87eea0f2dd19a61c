"""A fake Vertex AI per test (loopback JobService whose jobs run as real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru_vertex.testing import FakeVertex

from vertex_helpers import IMAGE


@pytest.fixture
def vertex() -> Iterator[FakeVertex]:
    """A fresh fake Vertex AI in project kitaru-test, region us-central1."""
    with FakeVertex(grace_period=1.0) as fake:
        yield fake


@pytest.fixture
def orchestrator(vertex: FakeVertex) -> Any:
    """The `vertex` orchestrator on the fake, as its admin."""
    return vertex.orchestrator(image=IMAGE)


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KITARU_HOME per test (kitaru.testing.isolated_home, default lease); no ambient Google identity."""
    from kitaru.testing import isolated_home

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-adc.json"))
    with isolated_home(tmp_path, monkeypatch, lease_ttl=None) as home:
        yield home

