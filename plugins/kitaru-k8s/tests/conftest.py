"""A fake Kubernetes cluster per test (loopback API server + kubelet running real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru_k8s.testing import FakeCluster

from k8s_helpers import IMAGE


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    """A fresh fake cluster with namespaces `default` and `team-a`; every created object validated for 1.31."""
    with FakeCluster(namespaces=("default", "team-a"), grace_period=1.0) as fake:
        yield fake


@pytest.fixture
def orchestrator(cluster: FakeCluster) -> Any:
    """The `kubernetes` orchestrator on the fake cluster's `team-a` namespace, as its admin."""
    return cluster.orchestrator("team-a", image=IMAGE)


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KITARU_HOME per test; fresh plugin discovery."""
    from kitaru.plugins import reset_plugin_manager

    home = tmp_path / "kitaru-home"
    monkeypatch.setenv("KITARU_HOME", str(home))
    monkeypatch.setenv("KITARU_INTERACTIVE", "0")
    for var in ("KITARU_STACK", "KITARU_DISABLE_PLUGINS", "KUBERNETES_SERVICE_HOST", "KUBECONFIG"):
        monkeypatch.delenv(var, raising=False)
    reset_plugin_manager()
    yield home
    reset_plugin_manager()
