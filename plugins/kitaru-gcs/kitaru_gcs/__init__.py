"""Kitaru plugin for Google Cloud: `gcs` artifact store, `gcp` (Artifact Registry) container registry,
downscoped credential minting.

Importing this module is cheap (no google-cloud-storage): the SDK loads when a component is built.
"""

from __future__ import annotations

import os
from typing import Any

from kitaru.plugins import ComponentContext, ComponentRegistry, hookimpl
from kitaru_gcs._config import GCPRegistryConfig, GCSArtifactStoreConfig

__version__ = "0.1.0"
__all__ = ["GCPRegistryConfig", "GCSArtifactStoreConfig", "kitaru_register_components"]


def _make_store(config: GCSArtifactStoreConfig, ctx: ComponentContext) -> Any:
    from kitaru_gcs._store import GCSArtifactStore

    return GCSArtifactStore(config, broker=ctx.broker)  # connected to a server: act with brokered credentials


def _store_from_root(root: str) -> Any:
    """A store for a recorded root with the ambient identity (STORAGE_EMULATOR_HOST: the emulator, anonymously)."""
    from kitaru_gcs._store import GCSArtifactStore

    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    if emulator and "://" not in emulator:
        emulator = f"http://{emulator}"
    return GCSArtifactStore(GCSArtifactStoreConfig(path=root, endpoint_url=emulator or None, anonymous=bool(emulator)))


def _make_registry(config: GCPRegistryConfig, ctx: ComponentContext) -> Any:
    from kitaru_gcs._registry import ArtifactRegistry

    return ArtifactRegistry(config)


@hookimpl
def kitaru_register_components(registry: ComponentRegistry) -> None:
    """Register the `gcs` artifact store and the `gcp` (Artifact Registry) container registry."""
    registry.add_artifact_store("gcs", config=GCSArtifactStoreConfig, factory=_make_store, schemes=("gs",),
                                from_root=_store_from_root, description="Google Cloud Storage")
    registry.add_container_registry("gcp", config=GCPRegistryConfig, factory=_make_registry,
                                    description="Google Artifact Registry (REGION-docker.pkg.dev/PROJECT/REPO)")
