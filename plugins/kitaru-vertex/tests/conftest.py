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
    """A fresh KITARU_HOME per test; fresh plugin discovery; no ambient Google identity."""
    from kitaru.plugins import reset_plugin_manager

    home = tmp_path / "kitaru-home"
    monkeypatch.setenv("KITARU_HOME", str(home))
    monkeypatch.setenv("KITARU_INTERACTIVE", "0")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-adc.json"))
    for var in ("KITARU_STACK", "KITARU_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    reset_plugin_manager()
    yield home
    reset_plugin_manager()

