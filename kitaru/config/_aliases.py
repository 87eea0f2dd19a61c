"""Model aliases (`kitaru model register`) and which model + key `kitaru.llm(model=...)` resolves to."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from kitaru.errors import KitaruContextError, KitaruUsageError


class _Mapping:
    """Read fields as attributes (Kitaru 0.4) or as keys (`entry["alias"]`, this project's CLI)."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]  # every subclass is a dataclass

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        """A field by name, or `default`."""
        return getattr(self, key, default)

    def model_dump(self) -> dict[str, Any]:
        """The fields as a dict."""
        return asdict(self)


@dataclass(frozen=True)
class ModelAliasEntry(_Mapping):
    """A registered alias: `kitaru.llm(model=alias)` calls `model` with the key from `secret`."""

    alias: str
    model: str
    secret: str | None = None
    is_default: bool = False
    created_at: float | None = None


@dataclass(frozen=True)
class ResolvedModelSelection(_Mapping):
    """What `kitaru.llm(model=requested_model)` calls: `resolved_model`, via `alias`, key from `secret`."""

    requested_model: str | None
    alias: str | None
    resolved_model: str
    secret: str | None


def list_model_aliases() -> list[ModelAliasEntry]:
    """Every registered alias, sorted by name; the first one registered is the default model."""
    from kitaru.store import current_state

    rows = current_state().list_model_aliases()
    first = min(rows, key=lambda r: (r.get("created_at") or 0.0, r["alias"]))["alias"] if rows else None
    return [ModelAliasEntry(r["alias"], r["model"], r.get("secret"), r["alias"] == first, r.get("created_at"))
            for r in rows]


def register_model_alias(alias: str, *, model: str, secret: str | None = None) -> ModelAliasEntry:
    """Let `kitaru.llm(model=alias)` mean `model` (provider/name), with the API key from `secret`."""
    from kitaru.providers import split_model
    from kitaru.store import current_state

    if not isinstance(alias, str) or not alias or "/" in alias:
        raise KitaruUsageError(f"model alias {alias!r} must be a non-empty name without '/'")
    split_model(model)
    current_state().put_model_alias(alias, model, secret)
    return next(a for a in list_model_aliases() if a.alias == alias)


def _default_model(entries: list[ModelAliasEntry]) -> str | None:
    from kitaru.config._resolve import resolve_config

    explicit = os.environ.get("KITARU_DEFAULT_MODEL") or resolve_config().default_model
    return explicit or next((a.alias for a in entries if a.is_default), None)


def select_model(model: str | None = None) -> dict[str, Any]:
    """The model `kitaru.llm(model=...)` calls and its API key, with where the key came from.

    Explicit model or alias → KITARU_DEFAULT_MODEL / configured default → the first alias registered →
    the offline local model. The key comes from the alias's secret, else the provider's environment variable.
    """
    from kitaru.providers import api_key_env_var, resolve_model, split_model
    from kitaru.store import current_state

    state = current_state()
    entries = list_model_aliases()
    aliases = {a.alias: a for a in entries}
    default = _default_model(entries)
    full = resolve_model(model, aliases={k: v.model for k, v in aliases.items()}, default_model=default)
    provider, _ = split_model(full)
    env_var = api_key_env_var(provider)
    api_key, source = None, None
    alias = aliases.get(model or "") or (aliases.get(default or "") if not model else None)
    keyed = alias or aliases.get(default or "")  # a direct provider/name may use the default alias's key
    if keyed and keyed.secret:
        try:
            secret = state.get_secret(keyed.secret) or {}
        except KitaruContextError:  # connected to a server, outside a flow: only runtimes read secret values
            if not (env_var and os.environ.get(env_var)):
                raise
            secret = {}  # the provider's environment variable below
        api_key = secret.get(env_var or "") or secret.get("api_key") or next(iter(secret.values()), None)
        source = f"secret:{keyed.secret}" if api_key else None
    if source is None:
        source = f"env:{env_var}" if env_var and os.environ.get(env_var) else "none"
    return {"model": full, "provider": provider, "api_key": api_key, "alias": alias.alias if alias else None,
            "secret": alias.secret if alias else None, "requested_model": model, "credential_source": source}


def resolve_model_selection(model: str | None = None) -> ResolvedModelSelection:
    """Which model `kitaru.llm(model=...)` will call, through which alias, with the key from which secret."""
    chosen = select_model(model)
    return ResolvedModelSelection(requested_model=model, alias=chosen["alias"], resolved_model=chosen["model"],
                                  secret=chosen["secret"])
