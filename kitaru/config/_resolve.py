"""Configuration precedence, low to high: defaults → active stack → `[tool.kitaru]` in
pyproject.toml → KITARU_* environment → `configure()` → `@flow(...)` → `.run(...)`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruUsageError

if TYPE_CHECKING:
    from kitaru.config._models import KitaruConfig

_configured: dict[str, Any] = {}
_ENV_PREFIX = "KITARU_"
_NOT_CONFIG = {"KITARU_HOME", "KITARU_RUNNER_OWNER", "KITARU_DEBUG", "KITARU_LLM_MOCK_RESPONSE", "KITARU_AUTH_TOKEN",
               "KITARU_DISABLE_PLUGINS", "KITARU_CONFIG_PATH", "KITARU_API_KEY"}
_UNSET: Any = object()


def configure(
    *,
    stack: str | None = _UNSET,
    image: Any = _UNSET,
    cache: bool | None = _UNSET,
    retries: int | None = _UNSET,
    project: str | None = _UNSET,
    **advanced: Any,
) -> KitaruConfig:
    """Set process-wide defaults (above env and pyproject, below @flow and .run) and return the resolved
    KitaruConfig. Only the options passed change; passing None clears one. `image` may be an image name,
    a mapping or ImageSettings. This project's other KitaruConfig fields are accepted as keywords too."""
    from kitaru.config._models import KitaruConfig

    options = {k: v for k, v in {"stack": stack, "image": image, "cache": cache, "retries": retries,
                                 "project": project, **advanced}.items() if v is not _UNSET}
    unknown = set(options) - set(KitaruConfig.model_fields)
    if unknown:
        raise KitaruUsageError(
            f"unknown configuration option(s) {sorted(unknown)}; valid: {sorted(KitaruConfig.model_fields)}"
        )
    KitaruConfig.model_validate({k: v for k, v in options.items() if v is not None})  # bad values: nothing is set
    for key, value in options.items():
        if value is None:
            _configured.pop(key, None)
        else:
            _configured[key] = value
    return resolve_config()


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
    if not isinstance(section, dict):
        raise KitaruUsageError(f"[tool.kitaru] in {path} must be a table")
    from kitaru.config._models import KitaruConfig

    layer = {k.replace("-", "_"): v for k, v in section.items()}
    unknown = sorted(set(layer) - set(KitaruConfig.model_fields))
    if unknown:
        warnings.warn(f"ignoring unknown [tool.kitaru] key(s) {unknown} in {path}; known keys:"
                      f" {sorted(KitaruConfig.model_fields)}", UserWarning, stacklevel=2)
    return {k: v for k, v in layer.items() if k not in unknown}


def env_layer() -> dict[str, Any]:
    """KITARU_* variables that set options (read only when any is set)."""
    if not any(k.startswith(_ENV_PREFIX) and k not in _NOT_CONFIG for k in os.environ):
        return {}
    from kitaru.config._env import read_env

    return read_env()


def resolve_config(*layers: dict[str, Any] | None, stack_layer: dict[str, Any] | None = None) -> KitaruConfig:
    """Merge every layer by precedence into a frozen KitaruConfig; later layers win."""
    from kitaru.config._models import KitaruConfig

    merged: dict[str, Any] = {}
    for layer in (stack_layer, pyproject_layer(), env_layer(), _configured, *layers):
        if layer:
            merged.update({k: v for k, v in layer.items() if v is not None})
    return KitaruConfig.model_validate(merged)
