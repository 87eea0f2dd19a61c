"""Turn Kubernetes-shaped dicts (camelCase, as in a manifest) into the official client's models, strictly."""

from __future__ import annotations

import json
from inspect import signature
from typing import Any


class _Response:
    """What `ApiClient.deserialize` reads: an object with `.data` holding JSON."""

    def __init__(self, data: Any) -> None:
        self.data = json.dumps(data)


def to_model(data: Any, klass: str) -> Any:
    """`data` as a client model of type `klass` (e.g. "list[V1Toleration]"); ValueError names unknown fields.

    The client silently drops keys it does not know, so a typo (`tolerationSeconds` → `tolerationSecond`)
    would vanish; comparing the round trip with the input catches it.
    """
    from kubernetes.client import ApiClient

    api = ApiClient()
    extra = {"content_type": "application/json"} if "content_type" in signature(api.deserialize).parameters else {}
    try:
        model = api.deserialize(_Response(data), klass, **extra)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a valid {klass}: {exc}") from None
    lost = _lost_keys(data, api.sanitize_for_serialization(model))
    if lost:
        raise ValueError(f"unknown field {lost[0]!r} for {klass} (fields are camelCase, as in a manifest)")
    return model


def _lost_keys(given: Any, kept: Any, path: str = "") -> list[str]:
    """Paths of keys present in `given` but absent (dropped) in `kept`."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "(value)"]
        out: list[str] = []
        for key, value in given.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in kept:
                if value is not None:
                    out.append(where)
            else:
                out += _lost_keys(value, kept[key], where)
        return out
    if isinstance(given, list) and isinstance(kept, list):
        return [k for i, (g, c) in enumerate(zip(given, kept, strict=False)) for k in _lost_keys(g, c, f"{path}[{i}]")]
    return []
