"""The built-in `local` plugin: its flavors come through the hooks; orchestrator and registry conformance."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitaru.plugins import get_plugin_manager
from kitaru.plugins._local_jobs import LocalOrchestrator
from kitaru.plugins._oci import OCIRegistry, OCIRegistryConfig
from kitaru.testing import ContainerRegistryConformance, OrchestratorConformance


def test_builtins_registered_through_hooks() -> None:
    pm = get_plugin_manager()
    local = next(p for p in pm.plugins() if p.name == "local")
    assert local.builtin and local.status == "loaded" and local.distribution == "kitaru"
    assert set(local.flavors) == {("orchestrator", "local"), ("artifact_store", "local"), ("container_registry", "oci")}
    assert pm.store_flavor_for_scheme("file").name == "local"  # type: ignore[union-attr]


class TestLocalOrchestrator(OrchestratorConformance):
    @pytest.fixture
    def orchestrator(self, tmp_path: Path) -> LocalOrchestrator:
        return LocalOrchestrator(tmp_path / "jobs")


def test_local_job_status_readable_from_another_instance(tmp_path: Path) -> None:
    from kitaru.plugins import JobSpec
    import sys

    orch = LocalOrchestrator(tmp_path / "jobs")
    job_id = orch.submit(JobSpec("e1", [sys.executable, "-c", "print('x')"]))
    TestLocalOrchestrator().wait_for(orch, job_id, ("succeeded",))
    assert LocalOrchestrator(tmp_path / "jobs").status(job_id).state == "succeeded"


class TestOCIRegistry(ContainerRegistryConformance):
    @pytest.fixture
    def registry(self) -> OCIRegistry:
        return OCIRegistry(OCIRegistryConfig(uri="ghcr.io/acme/agents", username="bot", password="s3cr3t-value"))
