"""The shared orchestrator conformance suite against the fake Vertex AI."""

from __future__ import annotations

from typing import Any

import pytest

from kitaru.testing import OrchestratorConformance
from kitaru_vertex.testing import FakeVertex

from vertex_helpers import IMAGE


class TestVertexOrchestrator(OrchestratorConformance):
    timeout = 30.0

    @pytest.fixture
    def orchestrator(self, vertex: FakeVertex) -> Any:
        return vertex.orchestrator(image=IMAGE)
