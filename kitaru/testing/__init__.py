"""Reusable pytest conformance suites that the built-ins and every plugin run.

    from kitaru.testing import ArtifactStoreConformance

    class TestS3(ArtifactStoreConformance):
        @pytest.fixture
        def store(self): ...
"""

from kitaru.testing._artifact_store import ArtifactStoreConformance
from kitaru.testing._orchestrator import OrchestratorConformance
from kitaru.testing._registry import ContainerRegistryConformance

__all__ = ["ArtifactStoreConformance", "ContainerRegistryConformance", "OrchestratorConformance"]
