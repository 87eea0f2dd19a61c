"""Configuration models users import: `KitaruConfig` and `ImageSettings`."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_SECRET_KEY = re.compile(r"(key|token|secret|password|passwd|credential)", re.IGNORECASE)


class ImageSettings(BaseModel):
    """How to build the container image a remote runtime runs in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_image: str | None = None
    requirements: list[str] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    apt_packages: list[str] = Field(default_factory=list)
    dockerfile: str | None = None
    image: str | None = None


class KitaruConfig(BaseModel):
    """The resolved configuration of one execution; frozen and stored with it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stack: str | None = None
    image: ImageSettings | None = None
    cache: bool = False
    retries: int = Field(default=0, ge=0)
    default_model: str | None = None
    lease_ttl: float = Field(default=5.0, gt=0)
    auto_recover: bool = False
    wait_timeout: float | None = Field(default=None, ge=0)
    interactive: bool | None = None
    log_capture: bool = True
    server_url: str | None = None

    def stored(self) -> dict[str, Any]:
        """The JSON stored with an execution, secret-looking values redacted."""
        return redact(self.model_dump(mode="json", exclude_none=True))


def redact(value: Any, key: str = "") -> Any:
    """Replace values under secret-looking keys with '***', recursively."""
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if key and _SECRET_KEY.search(key) and isinstance(value, str) and value:
        return "***"
    return value
