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
    """A fresh KITARU_HOME per test (kitaru.testing.isolated_home, the default lease); no ambient cluster."""
    from kitaru.testing import isolated_home

    with isolated_home(tmp_path, monkeypatch, lease_ttl=None, unset=("KUBERNETES_SERVICE_HOST", "KUBECONFIG")) as home:
        yield home
