"""Helpers shared by the kitaru-azure tests (Azurite's well-known dev account, stores and stack configs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    """A running Azurite blob endpoint (path-style: http://127.0.0.1:PORT/devstoreaccount1)."""

    url: str
    account: str
    key: str

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.url};")


def service(az: Azurite) -> Any:
    """A BlobServiceClient with the account key (the test's root identity)."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(az.url, credential={"account_name": az.account, "account_key": az.key})


def blob_names(az: Azurite, container: str, prefix: str = "") -> set[str]:
    """Committed blob names in a container (root identity)."""
    return {b.name for b in service(az).get_container_client(container).list_blobs(name_starts_with=prefix)}


def make_store(az: Azurite, container: str, **extra: Any) -> Any:
    """An AzureArtifactStore on Azurite under `az://container/kitaru`, acting with the account key."""
    from kitaru_azure._config import AzureArtifactStoreConfig
    from kitaru_azure._store import AzureArtifactStore

    fields: dict[str, Any] = {"path": f"az://{container}/kitaru", "account_url": az.url, "account_key": az.key,
                              "max_attempts": 3, **extra}
    return AzureArtifactStore(AzureArtifactStoreConfig(**{k: v for k, v in fields.items() if v is not None}))


def register(az: Azurite, container: str, name: str = "az") -> None:
    """A stack with an azure store on Azurite that names no credential at all (a server brokers them)."""
    from kitaru.stacks import register_stack

    register_stack(f"{name}.yaml", text=(f"name: {name}\norchestrator: {{flavor: local}}\n"
                                         f"artifact_store: {{flavor: azure, path: az://{container}/kitaru,"
                                         f" account_url: {az.url}}}\n"))
