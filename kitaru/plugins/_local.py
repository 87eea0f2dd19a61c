"""The built-in `local` plugin: local orchestrator, local artifact store, generic OCI registry."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ConfigDict

from kitaru.artifacts import LocalArtifactStore
from kitaru.plugins._hookspecs import hookimpl
from kitaru.plugins._local_jobs import LocalOrchestrator
from kitaru.plugins._oci import OCIRegistry, OCIRegistryConfig
from kitaru.plugins._protocols import ComponentContext
from kitaru.plugins._registry import ComponentRegistry


class LocalOrchestratorConfig(BaseModel):
    """The local orchestrator runs flows in the calling process (jobs: detached local processes)."""

    model_config = ConfigDict(extra="forbid")


class LocalArtifactStoreConfig(BaseModel):
    """`path` defaults to `<home>/artifacts`."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None


def _make_local_store(config: LocalArtifactStoreConfig, ctx: ComponentContext) -> LocalArtifactStore:
    return LocalArtifactStore(Path(config.path).expanduser() if config.path else ctx.home / "artifacts")


def _store_from_root(root: str) -> LocalArtifactStore:
    return LocalArtifactStore(unquote(urlparse(root).path))


@hookimpl
def kitaru_register_components(registry: ComponentRegistry) -> None:
    """Register the built-in flavors through the same hook as external plugins."""
    registry.add_orchestrator("local", config=LocalOrchestratorConfig,
                              factory=lambda c, ctx: LocalOrchestrator(ctx.home / "jobs"),
                              description="runs flows in this process; jobs as local processes")
    registry.add_artifact_store("local", config=LocalArtifactStoreConfig, factory=_make_local_store, schemes=("file",),
                                from_root=_store_from_root, description="a directory on the local filesystem")
    registry.add_container_registry("oci", config=OCIRegistryConfig, factory=lambda c, ctx: OCIRegistry(c),
                                    description="any OCI registry by URI (optional basic auth)")
