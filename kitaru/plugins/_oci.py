"""The built-in generic OCI container registry (any registry reachable by URI, optional basic auth)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kitaru.plugins._protocols import RegistryAccess, RegistryCredentials


class OCIRegistryConfig(BaseModel):
    """`uri` like `ghcr.io/acme/agents`; `password` must be a secret reference in stack YAML."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(min_length=1)
    username: str | None = None
    password: str | None = Field(default=None, json_schema_extra={"kitaru_secret": True})


class OCIRegistry:
    """Image URIs under `uri`; credentials are the configured username/password (or anonymous)."""

    flavor = "oci"

    def __init__(self, config: OCIRegistryConfig) -> None:
        self.uri = config.uri.rstrip("/")
        self._config = config

    def image_uri(self, name: str, tag: str = "latest") -> str:
        """`<uri>/<name>:<tag>`."""
        return f"{self.uri}/{name}:{tag}"

    def credentials(self, access: RegistryAccess = "pull") -> RegistryCredentials:
        """The configured basic-auth credentials (empty for anonymous pulls)."""
        return RegistryCredentials(self.uri.split("/", 1)[0], self._config.username or "",
                                   self._config.password or "", access)
