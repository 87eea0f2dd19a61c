"""The shared orchestrator conformance suite against the fake SageMaker control plane."""

from __future__ import annotations

from typing import Any

import pytest

from kitaru.testing import OrchestratorConformance
from kitaru_sagemaker.testing import FakeSageMaker

from sm_helpers import IMAGE


class TestSageMakerOrchestrator(OrchestratorConformance):
    timeout = 30.0

    @pytest.fixture
    def orchestrator(self, fake: FakeSageMaker) -> Any:
        return fake.orchestrator(image=IMAGE)
