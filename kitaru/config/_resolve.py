"""Configuration precedence, low to high: defaults → active stack → `[tool.kitaru]` in
pyproject.toml → KITARU_* environment → `configure()` → `@flow(...)` → `.run(...)`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruUsageError

_configured: dict[str, Any] = {}
_ENV_PREFIX = "KITARU_"
_NOT_CONFIG = {"KITARU_HOME", "KITARU_RUNNER_OWNER", "KITARU_DEBUG", "KITARU_LLM_MOCK_RESPONSE", "KITARU_AUTH_TOKEN", "KITARU_DISABLE_PLUGINS"}


def configure(**options: Any) -> None:
    """Set process-wide configuration (above env and pyproject, below @flow and .run)."""
    from kitaru.config._models import KitaruConfig

    unknown = set(options) - set(KitaruConfig.model_fields)
    if unknown:
        raise KitaruUsageError(
            f"unknown configuration option(s) {sorted(unknown)}; valid: {sorted(KitaruConfig.model_fields)}"
        )
    _configured.update({k: v for k, v in options.items() if v is not None})


def reset_configuration() -> None:
    """Forget everything set by `configure()` (for tests)."""
    _configured.clear()


def pyproject_layer(start: Path | None = None) -> dict[str, Any]:
    """`[tool.kitaru]` from the nearest project's pyproject.toml."""
    import tomllib

    from kitaru.config._paths import find_project_root

    root = find_project_root(start)
    if root is None or not (root / "pyproject.toml").is_file():
        return {}
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise KitaruUsageError(f"{path} is not valid TOML ({exc}); fix it or remove [tool.kitaru]") from exc
    section = data.get("tool", {}).get("kitaru", {})
    return {k.replace("-", "_"): v for k, v in section.items()}


def env_layer() -> dict[str, Any]:
    """KITARU_* variables, parsed by pydantic-settings (loaded only when any is set)."""
    if not any(k.startswith(_ENV_PREFIX) and k not in _NOT_CONFIG for k in os.environ):
        return {}
    from kitaru.config._env import read_env

    return read_env()


def resolve_config(*layers: dict[str, Any] | None, stack_layer: dict[str, Any] | None = None) -> Any:
    """Merge every layer by precedence into a frozen KitaruConfig; later layers win."""
    from kitaru.config._models import KitaruConfig

    merged: dict[str, Any] = {}
    for layer in (stack_layer, pyproject_layer(), env_layer(), _configured, *layers):
        if layer:
            merged.update({k: v for k, v in layer.items() if v is not None})
    return KitaruConfig.model_validate(merged)
