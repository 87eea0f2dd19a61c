"""Small helpers shared by the service modules: JSON columns and row conversion."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, overload

JSON_COLUMNS = frozenset(
    {"flow_source", "config", "inputs", "result", "failure", "metadata", "output", "error", "schema", "answer", "tags", "ref", "spec", "data", "value"}
)


def dumps(value: Any) -> str | None:
    """Encode a JSON column value (None stays NULL)."""
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


@overload
def to_dict(row: Mapping[str, Any]) -> dict[str, Any]: ...


@overload
def to_dict(row: None) -> None: ...


def to_dict(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Convert a DB row into a plain dict, decoding JSON columns."""
    if row is None:
        return None
    out: dict[str, Any] = {}
    for key in row.keys():  # noqa: SIM118 - sqlite3.Row has keys() but no iteration by key
        value = row[key]
        if key in JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
        out[key] = value
    return out


def now() -> float:
    """Current wall-clock time as epoch seconds (the store's timestamp format)."""
    return time.time()


class Buffered:
    """A finished statement's rows and rowcount, readable after its transaction committed."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        """All rows."""
        return self._rows
