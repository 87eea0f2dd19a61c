"""Secret references in stack specs (`{secret: NAME}` or `{secret: NAME, key: KEY}`), never plaintext."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from kitaru.errors import KitaruUsageError

_SECRET_NAME = re.compile(
    r"(password|passwd|secret|token|private_key|api_key|access_key|account_key|sas|credentials?|auth)", re.I)
_NOT_SECRET = re.compile(r"_(id|arn|url|uri|file|path|name|env|region|ttl)$", re.I)


def is_secret_ref(value: Any) -> bool:
    """`{secret: NAME}` (optionally with `key:`)."""
    return (isinstance(value, dict) and isinstance(value.get("secret"), str) and bool(value["secret"])
            and set(value) <= {"secret", "key"} and isinstance(value.get("key", ""), str))


def is_secret_field(name: str, model: type[BaseModel] | None = None) -> bool:
    """Whether a config field must hold a secret reference (by its name or the flavor's marking)."""
    if model is not None and name in model.model_fields:
        extra = model.model_fields[name].json_schema_extra
        if isinstance(extra, dict) and "kitaru_secret" in extra:
            return bool(extra["kitaru_secret"])
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def placeholder(ref: dict[str, str]) -> str:
    """The string a secret reference validates as (its value is only known at run time)."""
    return f"<secret:{ref['secret']}{'/' + ref['key'] if ref.get('key') else ''}>"


def resolve_refs(config: dict[str, Any], lookup: Any, where: str) -> dict[str, Any]:
    """Replace secret references by their values, read through `lookup(name) -> dict | None`."""
    out: dict[str, Any] = {}
    for field, value in config.items():
        if not is_secret_ref(value):
            out[field] = value
            continue
        data = lookup(value["secret"])
        if data is None:
            raise KitaruUsageError(
                f"secret {value['secret']!r} referenced by {where}.{field} does not exist;"
                f" create it with `kitaru secrets set {value['secret']} --{value.get('key') or field}=...`"
            )
        key = value.get("key") or (field if field in data else next(iter(data)) if len(data) == 1 else field)
        if key not in data:
            raise KitaruUsageError(
                f"secret {value['secret']!r} has no key {key!r} (keys: {sorted(data)}); referenced by {where}.{field}")
        out[field] = data[key]
    return out
