"""Pydantic config models of the `azure` artifact store and `acr` registry flavors."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

MiB = 1 << 20
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_ABFS_HOST = re.compile(r"^(?P<container>[^@]+)@(?P<account>[a-z0-9]{3,24})\.dfs\.core\.windows\.net$")
_ACR = re.compile(r"^([a-z0-9]{5,50})\.azurecr\.(io|cn|us)(/[a-z0-9._/-]+)?$")
_SECRET: JsonDict = {"kitaru_secret": True}


def is_loopback(url: str) -> bool:
    """Whether `url` points at this machine (an emulator such as Azurite), where plain HTTP is acceptable."""
    host = (urlparse(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AzureAccess(BaseModel):
    """Which storage account, and who the component acts as (secret references, else the ambient identity)."""

    model_config = ConfigDict(extra="forbid")

    account_name: str | None = None
    account_url: str | None = None
    account_key: str | None = Field(default=None, json_schema_extra=_SECRET)
    connection_string: str | None = Field(default=None, json_schema_extra=_SECRET)
    sas_token: str | None = Field(default=None, json_schema_extra=_SECRET)
    max_attempts: int = Field(default=6, ge=1, le=20)

    @field_validator("account_name")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT.match(value):
            raise ValueError("must be 3-24 lowercase letters or digits (the storage account name)")
        return value

    @field_validator("account_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an http(s) URL, e.g. https://myaccount.blob.core.windows.net")
        if parsed.scheme == "http" and not is_loopback(value):
            raise ValueError("must use https (plain http is accepted only for a loopback emulator such as Azurite)")
        return value.rstrip("/")


class AzureArtifactStoreConfig(AzureAccess):
    """`path: az://container/prefix` (or `abfs[s]://container@account.dfs.core.windows.net/prefix`)."""

    path: str
    sas_scope: Literal["auto", "directory", "container"] = Field(default="auto",
                                                                 json_schema_extra={"kitaru_secret": False})
    block_size: int = Field(default=8 * MiB, ge=1 * MiB, le=4000 * MiB)
    single_put_threshold: int = Field(default=8 * MiB, ge=0, le=256 * MiB)
    read_chunk_size: int = Field(default=2 * MiB, ge=256 * 1024, le=256 * MiB)

    @model_validator(mode="before")
    @classmethod
    def _abfs(cls, data: Any) -> Any:
        """Accept the ADLS Gen2 form and take the account name from its host."""
        if isinstance(data, dict) and isinstance(data.get("path"), str) and data["path"].startswith(("abfs://", "abfss://")):
            parsed = urlparse(data["path"])
            match = _ABFS_HOST.match(parsed.netloc)
            if not match:
                raise ValueError("path: an abfs:// path must look like abfss://container@account.dfs.core.windows.net/prefix")
            if data.get("account_name") not in (None, match["account"]):
                raise ValueError(f"path: its account {match['account']!r} differs from account_name {data['account_name']!r}")
            data = {**data, "path": f"az://{match['container']}{parsed.path}", "account_name": match["account"]}
        return data

    @field_validator("path")
    @classmethod
    def _az_uri(cls, value: str) -> str:
        if not value.startswith("az://"):
            raise ValueError("must be an az:// URI, e.g. az://my-container/kitaru")
        container, _, prefix = value[5:].partition("/")
        if not _CONTAINER.match(container):
            raise ValueError(f"{container!r} is not a valid container name (3-63 lowercase letters, digits, '-')")
        if any(c in prefix for c in "*?\\") or ".." in prefix.split("/"):
            raise ValueError("the prefix must not contain '*', '?', '\\' or '..'")
        return f"az://{container}/{prefix.strip('/')}".rstrip("/")

    @model_validator(mode="after")
    def _sizes(self) -> AzureArtifactStoreConfig:
        if self.single_put_threshold > self.block_size * 32:
            raise ValueError("single_put_threshold must not exceed 32 x block_size")
        return self


class ACRConfig(BaseModel):
    """`uri: NAME.azurecr.io[/namespace]`; `username`/`password` (a token or admin user) or the Azure AD identity."""

    model_config = ConfigDict(extra="forbid")

    uri: str
    username: str | None = None
    password: str | None = Field(default=None, json_schema_extra=_SECRET)
    tenant_id: str | None = None
    login_server_url: str | None = None

    @field_validator("uri")
    @classmethod
    def _acr_uri(cls, value: str) -> str:
        value = value.removeprefix("https://").rstrip("/").lower()
        if not _ACR.match(value):
            raise ValueError("must look like myregistry.azurecr.io[/namespace] (5-50 letters or digits)")
        return value

    @field_validator("login_server_url")
    @classmethod
    def _login(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://") and not is_loopback(value):
            raise ValueError("must use https (plain http only for a loopback test server)")
        return value.rstrip("/") if value else value
