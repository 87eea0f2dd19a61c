"""Minting SAS tokens for a store's prefix: signed with the account key or a user delegation key (Azure AD).

Scope: a directory SAS (`sr=d`) for the prefix on hierarchical-namespace (ADLS Gen2) accounts, else a
container SAS (`sr=c`, the narrowest the flat Blob namespace allows: every blob in the container).
Permissions: read+list for readers; read, create, write, delete, list for writers. HTTPS only, unless the
endpoint is a loopback emulator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from kitaru.plugins import Access
from kitaru_azure._config import is_loopback

CLOCK_SKEW = timedelta(minutes=5)  # the SAS is valid from a little before now: clocks differ
READ_PERMISSIONS = "rl"
WRITE_PERMISSIONS = "rcwdl"


@dataclass(frozen=True)
class SasGrant:
    """One minted token and what it covers."""

    token: str
    resource: str  # "directory" or "container"
    path: str  # the directory it covers ("" for a container SAS)
    signed_with: str  # "account-key" or "user-delegation"
    expires_at: datetime


def protocol_for(account_url: str) -> str:
    """`https`, or `https,http` for a loopback emulator endpoint (Azurite speaks plain HTTP)."""
    return "https,http" if account_url.startswith("http://") and is_loopback(account_url) else "https"


def permissions_for(access: Access) -> str:
    """The SAS permission string for read or write access."""
    return WRITE_PERMISSIONS if access == "write" else READ_PERMISSIONS


class DelegationKeys:
    """Caches the user delegation key (one Azure AD round trip per hour, not per mint)."""

    def __init__(self) -> None:
        self._key: Any = None
        self._lock = threading.Lock()

    def get(self, service: Any, expiry: datetime) -> Any:
        """A key valid from before now until after `expiry`."""
        with self._lock:
            key = self._key
            if key is None or _parse(key.signed_expiry) < expiry or _parse(key.signed_start) > _now() - CLOCK_SKEW:
                start = _now() - CLOCK_SKEW
                key = self._key = service.get_user_delegation_key(start, max(expiry, _now() + timedelta(hours=2)))
            return key


def sign(*, account_name: str, account_url: str, container: str, directory: str, access: Access, ttl: int,
         account_key: str | None, delegation_key: Any = None) -> SasGrant:
    """A SAS for `container` (or, when `directory` is set, for that directory only) valid for `ttl` seconds."""
    from azure.storage.blob import generate_blob_sas, generate_container_sas

    start, expiry = _now() - CLOCK_SKEW, _now() + timedelta(seconds=ttl)
    common: dict[str, Any] = {"permission": permissions_for(access), "expiry": expiry, "start": start,
                              "protocol": protocol_for(account_url)}
    credential: dict[str, Any] = ({"user_delegation_key": delegation_key} if delegation_key is not None
                                  else {"account_key": account_key})
    if directory:
        token = generate_blob_sas(account_name, container, directory, is_directory=True,
                                  sdd=len(directory.split("/")), **credential, **common)
    else:
        token = generate_container_sas(account_name, container, **credential, **common)
    return SasGrant(token, "directory" if directory else "container", directory,
                    "user-delegation" if delegation_key is not None else "account-key", expiry)


def blob_read_sas(*, account_name: str, account_url: str, container: str, blob: str, ttl: int,
                  account_key: str | None, delegation_key: Any = None) -> str:
    """A read-only SAS for exactly one blob (`sr=b`, `sp=r`) valid for `ttl` seconds (the UI's preview links)."""
    from azure.storage.blob import generate_blob_sas

    credential: dict[str, Any] = ({"user_delegation_key": delegation_key} if delegation_key is not None
                                  else {"account_key": account_key})
    return str(generate_blob_sas(account_name, container, blob, permission="r", start=_now() - CLOCK_SKEW,
                                 expiry=_now() + timedelta(seconds=ttl), protocol=protocol_for(account_url),
                                 **credential))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _parse(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
