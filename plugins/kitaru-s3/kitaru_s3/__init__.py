"""Kitaru plugin for AWS: `s3` artifact store, `ecr` container registry, STS credential minting.

Importing this module is cheap (no boto3): boto3 loads when a component is built.
"""

from __future__ import annotations

from typing import Any

from kitaru.plugins import ComponentContext, ComponentRegistry, hookimpl
from kitaru_s3._config import ECRConfig, S3ArtifactStoreConfig

__version__ = "0.1.0"
__all__ = ["ECRConfig", "S3ArtifactStoreConfig", "kitaru_register_components"]


def _make_store(config: S3ArtifactStoreConfig, ctx: ComponentContext) -> Any:
    from kitaru_s3._store import S3ArtifactStore

    return S3ArtifactStore(config, broker=ctx.broker)  # connected to a server: act with brokered credentials


def _store_from_root(root: str) -> Any:
    """A store for a recorded root, using the ambient AWS identity (AWS_ENDPOINT_URL is honoured)."""
    from kitaru_s3._store import S3ArtifactStore

    return S3ArtifactStore(S3ArtifactStoreConfig(path=root))


def _make_ecr(config: ECRConfig, ctx: ComponentContext) -> Any:
    from kitaru_s3._ecr import ECRRegistry

    return ECRRegistry(config)


@hookimpl
def kitaru_register_components(registry: ComponentRegistry) -> None:
    """Register the `s3` artifact store and the `ecr` container registry."""
    registry.add_artifact_store("s3", config=S3ArtifactStoreConfig, factory=_make_store, schemes=("s3",),
                                from_root=_store_from_root, description="Amazon S3 or an S3-compatible store")
    registry.add_container_registry("ecr", config=ECRConfig, factory=_make_ecr, description="Amazon ECR")
