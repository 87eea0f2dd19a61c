"""The shared orchestrator conformance suite against the fake cluster."""

from __future__ import annotations

from typing import Any

import pytest

from kitaru.testing import OrchestratorConformance
from kitaru_k8s.testing import FakeCluster

from k8s_helpers import IMAGE


class TestKubernetesOrchestrator(OrchestratorConformance):
    timeout = 30.0

    @pytest.fixture
    def orchestrator(self, cluster: FakeCluster) -> Any:
        return cluster.orchestrator("team-a", image=IMAGE)
