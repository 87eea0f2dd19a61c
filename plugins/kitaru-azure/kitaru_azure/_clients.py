"""Azure Blob clients: the account endpoint, who they act as, retries with capped backoff, bounded timeouts.

A client acts as the configured identity: a SAS token, an account key or connection string (secret
references), else credentials brokered by the Kitaru server (SAS refreshed before it expires), else the
ambient identity (`AZURE_STORAGE_CONNECTION_STRING`, `AZURE_STORAGE_ACCOUNT`+`AZURE_STORAGE_KEY`, else
Azure AD through `DefaultAzureCredential`).
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlparse

from kitaru.errors import KitaruUsageError
from kitaru.plugins import Access, CredentialBroker, Credentials
from kitaru_azure._config import AzureAccess

REFRESH_BEFORE = 300  # seconds: refresh a brokered SAS this long before it expires (or at half its life)


def parse_connection_string(text: str) -> dict[str, str]:
    """`Key=Value;...` pairs of an Azure Storage connection string."""
    pairs = (p.split("=", 1) for p in text.split(";") if "=" in p)
    return {k.strip(): v.strip() for k, v in pairs}


@dataclass(frozen=True)
class Identity:
    """Where the account is and how this process signs requests: `kind` is sas, key, aad or brokered."""

    account_name: str
    account_url: str
    kind: str
    account_key: str | None = None
    sas_token: str | None = None


def _ambient(config: AzureAccess) -> AzureAccess:
    """The config completed from the standard Azure CLI environment variables when it names no credential."""
    if config.account_key or config.connection_string or config.sas_token:
        return config
    env = os.environ
    update: dict[str, Any] = {}
    if env.get("AZURE_STORAGE_CONNECTION_STRING"):
        update["connection_string"] = env["AZURE_STORAGE_CONNECTION_STRING"]
    elif env.get("AZURE_STORAGE_KEY"):
        update["account_key"] = env["AZURE_STORAGE_KEY"]
    if not config.account_name and env.get("AZURE_STORAGE_ACCOUNT"):
        update["account_name"] = env["AZURE_STORAGE_ACCOUNT"].lower()
    return config.model_copy(update=update)


def resolve_identity(config: AzureAccess, *, brokered: bool = False) -> Identity:
    """The account endpoint and signing identity of `config` (ambient variables only when not brokered)."""
    if not brokered:
        config = _ambient(config)
    cs = parse_connection_string(config.connection_string) if config.connection_string else {}
    name = config.account_name or cs.get("AccountName", "").lower() or None
    url = config.account_url or cs.get("BlobEndpoint", "").rstrip("/") or None
    if url is None and name:
        scheme = cs.get("DefaultEndpointsProtocol", "https")
        url = f"{scheme}://{name}.blob.{cs.get('EndpointSuffix', 'core.windows.net')}"
    if name is None and url is not None:
        name = _account_from_url(url)
    if not name or not url:
        raise KitaruUsageError("the Azure storage account is unknown: set `account_name` (or `account_url`) in the"
                               " stack's artifact_store, or AZURE_STORAGE_ACCOUNT in the environment")
    key = config.account_key or cs.get("AccountKey")
    sas = config.sas_token or cs.get("SharedAccessSignature")
    kind = "brokered" if brokered else "sas" if sas else "key" if key else "aad"
    return Identity(name, url, kind, key if not brokered else None, sas if not brokered else None)


def _account_from_url(url: str) -> str | None:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if ".blob." in host:
        return host.split(".", 1)[0]
    first = parsed.path.strip("/").split("/", 1)[0]  # emulator, path style: http://127.0.0.1:10000/devstoreaccount1
    return first or None


def token_credential() -> Any:
    """The ambient Azure AD identity (workload/managed identity, environment, Azure CLI)."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as exc:  # pragma: no cover - a dependency of kitaru-azure
        raise KitaruUsageError("Azure AD sign-in needs azure-identity: pip install azure-identity") from exc
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


class RefreshingSas:
    """A SAS credential whose token the Kitaru server mints; it is re-minted before it expires.

    azure-core reads `.signature` on every request, so a long upload or download switches to the new
    token without interruption.
    """

    def __init__(self, broker: CredentialBroker, access: Access) -> None:
        self._broker, self._access = broker, access
        self._lock = threading.Lock()
        self._creds: Credentials | None = None
        self._minted_at = datetime.now(timezone.utc)
        self.mints = 0

    @property
    def signature(self) -> str:
        """The current SAS token (minted again when it is close to expiry)."""
        with self._lock:
            now = datetime.now(timezone.utc)
            creds = self._creds
            if creds is None or (creds.expires_at - now).total_seconds() < self._margin(creds):
                creds = self._creds = self._broker(self._access)
                self._minted_at, self.mints = now, self.mints + 1
                if "sas_token" not in creds.values:
                    raise KitaruUsageError(f"the server minted {creds.flavor!r} credentials, not an Azure SAS: is the"
                                           " stack's artifact store an `azure` store on the server too?")
            return creds.values["sas_token"]

    def _margin(self, creds: Credentials) -> float:
        life = (creds.expires_at - self._minted_at).total_seconds()
        return min(REFRESH_BEFORE, max(life, 0) / 2)


def sas_credential(token: str) -> Any:
    """A static SAS credential."""
    from azure.core.credentials import AzureSasCredential

    return AzureSasCredential(token.lstrip("?"))


def brokered_credential(broker: CredentialBroker, access: Access) -> Any:
    """An `AzureSasCredential` (as the SDK requires) that re-mints its token through the broker."""
    from azure.core.credentials import AzureSasCredential

    class Brokered(RefreshingSas, AzureSasCredential):
        def __init__(self) -> None:
            RefreshingSas.__init__(self, broker, access)

    return Brokered()


def retry_policy(max_attempts: int) -> Any:
    """Retries on timeouts, 5xx (Azure Storage throttles with 503) and connection errors; capped jittered backoff."""
    from azure.storage.blob import ExponentialRetry

    class CappedBackoff(ExponentialRetry):
        def get_backoff_time(self, settings: dict[str, Any]) -> float:
            return float(min(8.0, 0.25 * 2 ** settings["count"]) * random.uniform(0.5, 1.5))

    return CappedBackoff(retry_total=max_attempts - 1, retry_connect=max_attempts - 1, retry_read=max_attempts - 1,
                         retry_status=max_attempts - 1)


def container_client(identity: Identity, container: str, credential: Any, *, max_attempts: int,
                     chunk_size: int) -> Any:
    """A ContainerClient with retries, timeouts and download chunks of `chunk_size` (bounded memory)."""
    from azure.storage.blob import ContainerClient

    return ContainerClient(identity.account_url, container, credential=credential,
                           retry_policy=retry_policy(max_attempts), connection_timeout=10, read_timeout=60,
                           max_single_get_size=chunk_size, max_chunk_get_size=chunk_size, max_single_put_size=chunk_size,
                           connection_data_block_size=256 * 1024)


def own_credential(identity: Identity, injected: Any = None) -> Any:
    """The credential of a non-brokered identity: SAS, account key, or an Azure AD token credential."""
    if identity.kind == "sas":
        return sas_credential(identity.sas_token or "")
    if identity.kind == "key":
        return {"account_name": identity.account_name, "account_key": identity.account_key}
    if not identity.account_url.startswith("https://"):
        raise KitaruUsageError(f"no credentials for {identity.account_url}: Azure AD sign-in needs HTTPS, and the stack"
                               " names no account key, connection string or SAS token (as secret references); connect"
                               " to a Kitaru server to act with brokered SAS tokens")
    return injected or token_credential()
