"""`MemoryEntry`: one stored version of a memory key (the value loads from the artifact store on first use)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_UNLOADED = object()


@dataclass
class MemoryEntry:
    """One version of a key in a scope; `deleted` marks a tombstone (no value)."""

    scope: str
    key: str
    version: int
    scope_type: str
    deleted: bool
    created_at: datetime | None
    exec_id: str | None = None
    actor: str | None = None
    ref: dict[str, Any] | None = field(default=None, repr=False)
    _value: Any = field(default=_UNLOADED, repr=False, compare=False)

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> MemoryEntry:
        """Build from a store record (as the state service returns it)."""
        t = rec.get("created_at")
        return cls(scope=rec["scope"], key=rec["key"], version=int(rec["version"]), scope_type=rec["scope_type"],
                   deleted=bool(rec.get("deleted")), exec_id=rec.get("exec_id"), actor=rec.get("actor"),
                   created_at=datetime.fromtimestamp(float(t), tz=UTC) if t is not None else None,
                   ref=rec.get("value"))

    @property
    def value(self) -> Any:
        """The stored value (None for a tombstone), read from the artifact store and hash-verified."""
        if self._value is _UNLOADED:
            self._value = None if self.ref is None else load_ref(self.ref)
        return self._value

    def load(self) -> Any:
        """Same as `.value`."""
        return self.value

    def to_dict(self, *, with_value: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (the value included unless `with_value=False`)."""
        out = {"scope": self.scope, "key": self.key, "version": self.version, "scope_type": self.scope_type,
               "deleted": self.deleted, "exec_id": self.exec_id, "actor": self.actor,
               "created_at": self.created_at.isoformat().replace("+00:00", "Z") if self.created_at else None}
        if with_value:
            out["value"] = self.value
        return out


def load_ref(ref: dict[str, Any]) -> Any:
    """Load a value from its blob ref (the running execution's store when it is the same root)."""
    from kitaru.artifacts import get_value
    from kitaru.runtime._context import current_context
    from kitaru.stacks import store_from_root

    ctx = current_context()
    store = ctx.store if ctx is not None and ctx.store.root == ref.get("store") else store_from_root(ref["store"])
    return get_value(store, ref)


def store_value(value: Any) -> dict[str, Any]:
    """Write a value's bytes to the artifact store (the running execution's, else the active stack's); its ref."""
    from kitaru.artifacts import put_value
    from kitaru.runtime._context import current_context

    ctx = current_context()
    if ctx is not None:
        return put_value(ctx.store, value)
    from kitaru.config._paths import resolve_home
    from kitaru.stacks import artifact_store_for_stack

    return put_value(artifact_store_for_stack(None, resolve_home()), value)
