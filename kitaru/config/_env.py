"""KITARU_* environment variables as a pydantic-settings model."""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict


class _EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KITARU_", extra="ignore", case_sensitive=False)

    stack: str | None = None
    image: str | None = None
    project: str | None = None
    cache: bool | None = None
    retries: int | None = None
    default_model: str | None = None
    lease_ttl: float | None = None
    auto_recover: bool | None = None
    wait_timeout: float | None = None
    interactive: bool | None = None
    log_capture: bool | None = None
    server_url: str | None = None


def read_env() -> dict[str, Any]:
    """The configuration options set through KITARU_* variables."""
    values = _EnvSettings().model_dump(exclude_none=True)
    image = values.get("image")
    if isinstance(image, str) and image.strip().startswith("{"):  # KITARU_IMAGE as JSON ImageSettings
        import json

        try:
            values["image"] = json.loads(image)
        except ValueError as exc:
            from kitaru.errors import KitaruUsageError

            raise KitaruUsageError(f"KITARU_IMAGE is not valid JSON ({exc}); give an image name or a JSON object"
                                   " of ImageSettings fields") from None
    return values
