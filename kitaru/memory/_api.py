"""The memory calls: direct outside a flow, journaled in a flow body (a replay or resume sees the first run's values).

In a flow body each call is its own journal entry of type `memory` (`memory_get`, `memory_get_2`, ... assigned
like checkpoint invocation ids), so a resumed or replayed body gets the recorded entry back instead of reading
or writing again. Inside a checkpoint the call runs directly (the checkpoint's output is what is durable) and
is noted in the checkpoint's metadata under `memory`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kitaru.memory._models import MemoryEntry, store_value
from kitaru.memory._scope import resolve_scope
from kitaru.store._memory import check_key, check_name

if TYPE_CHECKING:
    from kitaru.store import StateStore

R = TypeVar("R")


def _run(op: str, scope: str, key: str | None, fn: Callable[[StateStore, str | None], R]) -> R:
    """Run `fn(state, exec_id)` directly, or as a journaled step in a flow body; return its (recorded) result."""
    from kitaru.runtime._context import checkpoint_metadata, current_checkpoint, current_context

    ctx = current_context()
    if ctx is None:
        from kitaru.store import current_state

        return fn(current_state(), None)
    if current_checkpoint() is not None:
        result = fn(ctx.state, ctx.exec_id)
        md = checkpoint_metadata()
        if md is not None:
            md.setdefault("memory", []).append({"op": op, "scope": scope, "key": key})
        return result
    from kitaru.runtime._steps import StepSpec, run_step

    name = f"memory_{op}"
    inv, seq, rec = ctx.assign(name, None, "memory")
    spec = StepSpec(name=name, fn=lambda *_a, **_k: fn(ctx.state, ctx.exec_id), type="memory", cache=False)
    return run_step(ctx, spec, (scope, key) if key is not None else (scope,), {}, inv=inv, seq=seq, rec=rec)


def memory_set(key: str, value: Any, *, scope: str | None = None) -> MemoryEntry:
    """Store `value` as a new version of `key`; returns the new entry."""
    check_key(key)
    scope_, scope_type = resolve_scope(scope)

    def write(state: StateStore, exec_id: str | None) -> dict[str, Any]:
        return state.memory_set(scope_, key, store_value(value), scope_type=scope_type, exec_id=exec_id)

    return MemoryEntry.from_record(_run("set", scope_, key, write))


def memory_get(key: str, default: Any = None, *, scope: str | None = None, version: int | None = None) -> Any:
    """The value of `key` (its latest version, or `version`); `default` when absent or deleted."""
    entry = memory_entry(key, scope=scope, version=version)
    return default if entry is None or entry.deleted else entry.value


def memory_entry(key: str, *, scope: str | None = None, version: int | None = None) -> MemoryEntry | None:
    """The latest (or a given) stored version of `key`, tombstones included; None if it never existed."""
    check_name(key)
    scope_, _ = resolve_scope(scope)
    rec = _run("get", scope_, key, lambda state, _e: state.memory_get(scope_, key, version))
    return None if rec is None else MemoryEntry.from_record(rec)


def memory_delete(key: str, *, scope: str | None = None) -> MemoryEntry | None:
    """Delete `key` by writing a tombstone version; returns it (None if the key was not set)."""
    check_key(key)
    scope_, _ = resolve_scope(scope)
    rec = _run("delete", scope_, key, lambda state, exec_id: state.memory_delete(scope_, key, exec_id=exec_id))
    return None if rec is None else MemoryEntry.from_record(rec)


def memory_list(prefix: str | None = None, *, scope: str | None = None,
                include_deleted: bool = False) -> list[MemoryEntry]:
    """The latest version of every key in the scope (optionally under `prefix`), sorted by key."""
    if prefix:
        check_name(prefix, "prefix")
    scope_, _ = resolve_scope(scope)
    recs = _run("list", scope_, prefix,
                lambda state, _e: state.memory_list(scope_, prefix, include_deleted=include_deleted))
    return [MemoryEntry.from_record(r) for r in recs]


def memory_history(key: str, *, scope: str | None = None) -> list[MemoryEntry]:
    """Every stored version of `key`, newest first (tombstones included)."""
    check_name(key)
    scope_, _ = resolve_scope(scope)
    recs = _run("history", scope_, key, lambda state, _e: state.memory_history(scope_, key))
    return [MemoryEntry.from_record(r) for r in recs]
