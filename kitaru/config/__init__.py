"""Configuration: precedence-resolved `KitaruConfig`, `configure()`, model aliases."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from kitaru.config._resolve import configure, reset_configuration, resolve_config
from kitaru.errors import KitaruContextError, KitaruUsageError

if TYPE_CHECKING:
    from kitaru.config._models import ImageSettings, KitaruConfig

__all__ = [
    "ImageSettings",
    "KitaruConfig",
    "configure",
    "list_model_aliases",
    "register_model_alias",
    "reset_configuration",
    "resolve_config",
    "resolve_model_selection",
]


def __getattr__(name: str) -> Any:
    if name in ("ImageSettings", "KitaruConfig"):
        from kitaru.config import _models

        return getattr(_models, name)
    raise AttributeError(name)


def register_model_alias(alias: str, *, model: str, secret: str | None = None) -> None:
    """Let `kitaru.llm(model=alias)` mean `model` (provider/name), with the API key from `secret`."""
    from kitaru.providers import split_model
    from kitaru.store import current_state

    if not alias or "/" in alias:
        raise KitaruUsageError(f"model alias {alias!r} must be a non-empty name without '/'")
    split_model(model)
    current_state().put_model_alias(alias, model, secret)


def list_model_aliases() -> list[dict[str, Any]]:
    """Every registered model alias."""
    from kitaru.store import current_state

    return current_state().list_model_aliases()


def resolve_model_selection(model: str | None = None) -> dict[str, Any]:
    """Which model `kitaru.llm(model=...)` will call, and with which API key.

    Explicit model or alias → KITARU_DEFAULT_MODEL / configured default → the offline local model.
    The key comes from the alias's secret, else the provider's environment variable.
    """
    from kitaru.providers import api_key_env_var, resolve_model, split_model
    from kitaru.store import current_state

    state = current_state()
    aliases = {a["alias"]: a for a in state.list_model_aliases()}
    default = os.environ.get("KITARU_DEFAULT_MODEL") or resolve_config().default_model
    full = resolve_model(model, aliases={k: v["model"] for k, v in aliases.items()}, default_model=default)
    provider, _ = split_model(full)
    api_key = None
    alias = aliases.get(model or "") or aliases.get(default or "")
    if alias and alias.get("secret"):
        env_var = api_key_env_var(provider)
        try:
            secret = state.get_secret(alias["secret"]) or {}
        except KitaruContextError:  # connected to a server, outside a flow: only runtimes read secret values
            if not (env_var and os.environ.get(env_var)):
                raise
            secret = {}  # the provider's environment variable below
        api_key = secret.get(env_var or "") or secret.get("api_key") or next(iter(secret.values()), None)
    return {"model": full, "provider": provider, "api_key": api_key, "alias": alias["alias"] if alias else None}
