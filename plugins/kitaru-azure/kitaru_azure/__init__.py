"""Kitaru plugin for Azure: `azure` artifact store (Blob Storage), `acr` container registry, SAS minting.

Importing this module is cheap (no Azure SDK): the SDK loads when a component is built.
"""

from __future__ import annotations

from typing import Any

from kitaru.plugins import ComponentContext, ComponentRegistry, hookimpl
from kitaru_azure._config import ACRConfig, AzureArtifactStoreConfig

__version__ = "0.1.0"
__all__ = ["ACRConfig", "AzureArtifactStoreConfig", "kitaru_register_components"]

STORE_DESCRIPTION = ("Azure Blob Storage; minted SAS cover the stack's prefix (directory SAS) on hierarchical-namespace"
                     " accounts, else the whole container: use one container per stack")


def _make_store(config: AzureArtifactStoreConfig, ctx: ComponentContext) -> Any:
    from kitaru_azure._store import AzureArtifactStore

    return AzureArtifactStore(config, broker=ctx.broker)  # connected to a server: act with brokered SAS


def _store_from_root(root: str) -> Any:
    """A store for a recorded root, with the ambient identity (AZURE_STORAGE_CONNECTION_STRING, ... or Azure AD)."""
    from kitaru_azure._store import AzureArtifactStore

    return AzureArtifactStore(AzureArtifactStoreConfig(path=root))


def _make_acr(config: ACRConfig, ctx: ComponentContext) -> Any:
    from kitaru_azure._acr import ACRRegistry

    return ACRRegistry(config)


@hookimpl
def kitaru_register_components(registry: ComponentRegistry) -> None:
    """Register the `azure` artifact store and the `acr` container registry."""
    registry.add_artifact_store("azure", config=AzureArtifactStoreConfig, factory=_make_store,
                                schemes=("az", "abfs", "abfss"), from_root=_store_from_root,
                                description=STORE_DESCRIPTION)
    registry.add_container_registry("acr", config=ACRConfig, factory=_make_acr, description="Azure Container Registry")
