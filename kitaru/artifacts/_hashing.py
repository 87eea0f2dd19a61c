"""A checkpoint's input hash: the same inputs give the same hash in every process (cache key, divergence).

JSON-native inputs hash their compact JSON (as before, so recorded cache keys stay valid). Anything else
is encoded canonically: pydantic models and dataclasses by class and fields, sets sorted, enums by
value, other objects by their pickle. An input with no stable encoding (an open client, a lock) gets no
hash at all (None): the call runs uncached rather than under a hash that differs per process (`repr()`).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import logging
import math
import pickle
from typing import Any

from kitaru.artifacts._serializers import _is_json_native

log = logging.getLogger("kitaru.artifacts")
_MAX_DEPTH = 64


class NoStableEncoding(Exception):
    """An input value that cannot be encoded the same way in every process."""


def input_hash(payload: dict[str, Any]) -> str | None:
    """sha256 of the canonical encoding of `payload`, or None if some value has no stable encoding."""
    if _is_json_native(payload):
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    else:
        try:
            data = json.dumps(canonical(payload), separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
        except NoStableEncoding as exc:
            log.debug("checkpoint inputs have no stable hash (%s): the call is not cached", exc)
            return None
    return hashlib.sha256(data).hexdigest()


def canonical(value: Any, depth: int = 0) -> Any:
    """A JSON value that encodes `value` the same way in every process (NoStableEncoding if impossible)."""
    if depth > _MAX_DEPTH:
        raise NoStableEncoding("nested too deeply")
    t = type(value)
    if value is None or t in (str, int, bool):
        return value
    if t is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if t in (bytes, bytearray, memoryview):
        return {"$bytes": hashlib.sha256(value).hexdigest()}
    if t in (list, tuple):
        return [canonical(v, depth + 1) for v in value] if t is list else {"$tuple": [canonical(v, depth + 1)
                                                                                    for v in value]}
    if t is dict:
        if all(type(k) is str for k in value):
            return {k: canonical(v, depth + 1) for k, v in value.items()}
        items = sorted(([canonical(k, depth + 1), canonical(v, depth + 1)] for k, v in value.items()),
                       key=lambda kv: json.dumps(kv, sort_keys=True))
        return {"$dict": items}
    if isinstance(value, (set, frozenset)):
        return {"$set": sorted((canonical(v, depth + 1) for v in value), key=lambda v: json.dumps(v, sort_keys=True))}
    cls = f"{t.__module__}.{t.__qualname__}"
    if isinstance(value, enum.Enum):
        return {"$enum": cls, "value": canonical(value.value, depth + 1)}
    if hasattr(t, "model_dump") and hasattr(t, "model_fields"):
        return {"$model": cls, "fields": canonical(value.model_dump(mode="json"), depth + 1)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$dataclass": cls, "fields": {f.name: canonical(getattr(value, f.name), depth + 1)
                                             for f in dataclasses.fields(value)}}
    try:
        data = pickle.dumps(value, protocol=4)
    except Exception as exc:  # noqa: BLE001 - pickle raises anything (TypeError, PicklingError, custom errors)
        raise NoStableEncoding(f"a {cls} cannot be encoded: {type(exc).__name__}: {exc}") from None
    return {"$pickle": cls, "sha256": hashlib.sha256(data).hexdigest()}
