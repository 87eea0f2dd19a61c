"""`KitaruClient().memories`: inspect and administer durable memory in any scope (the CLI's `kitaru memory`)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from kitaru.memory._models import MemoryEntry, store_value
from kitaru.memory._scope import DEFAULT_SCOPE
from kitaru.store._memory import check_key, check_name, check_scope_type

if TYPE_CHECKING:
    from kitaru.store import StateStore


class MemoriesAPI:
    """Scopes, entries, history, purges (admin), compaction and the index, over one state service."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def scopes(self) -> builtins.list[dict[str, Any]]:
        """Every scope: name, scope_type, live keys, stored versions, last write."""
        return self._state.memory_scopes()

    def list(self, scope: str = DEFAULT_SCOPE, *, prefix: str | None = None,
             include_deleted: bool = False) -> builtins.list[MemoryEntry]:
        """The latest version of each key of a scope, by key."""
        rows = self._state.memory_list(check_name(scope, "scope"), prefix, include_deleted=include_deleted)
        return [MemoryEntry.from_record(r) for r in rows]

    def get(self, key: str, *, scope: str = DEFAULT_SCOPE, version: int | None = None) -> MemoryEntry | None:
        """The latest (or a given) version of a key, tombstones included; None if it never existed."""
        rec = self._state.memory_get(check_name(scope, "scope"), check_name(key), version)
        return None if rec is None else MemoryEntry.from_record(rec)

    def set(self, key: str, value: Any, *, scope: str = DEFAULT_SCOPE,
            scope_type: str = "namespace") -> MemoryEntry:
        """Write a new version of a key."""
        check_name(scope, "scope"), check_key(key), check_scope_type(scope_type)
        return MemoryEntry.from_record(self._state.memory_set(scope, key, store_value(value), scope_type=scope_type))

    def delete(self, key: str, *, scope: str = DEFAULT_SCOPE) -> MemoryEntry | None:
        """Write a tombstone; None if the key was not live."""
        rec = self._state.memory_delete(check_name(scope, "scope"), check_key(key))
        return None if rec is None else MemoryEntry.from_record(rec)

    def history(self, key: str, *, scope: str = DEFAULT_SCOPE) -> builtins.list[MemoryEntry]:
        """Every stored version of a key, newest first."""
        return [MemoryEntry.from_record(r) for r in self._state.memory_history(check_name(scope, "scope"),
                                                                               check_name(key))]

    def purge(self, key: str, *, scope: str = DEFAULT_SCOPE, keep: int = 1) -> dict[str, Any]:
        """Hard-delete all but the newest `keep` versions of a key (a deleted key entirely); admin only.
        Returns the audit record written."""
        return self._state.memory_purge(check_name(scope, "scope"), check_name(key), keep=keep)

    def purge_scope(self, scope: str, *, keep: int = 1) -> dict[str, Any]:
        """`purge` for every key of a scope (keep=0 empties it); admin only. Returns the audit record."""
        return self._state.memory_purge_scope(check_name(scope, "scope"), keep=keep)

    def audit_log(self, scope: str | None = None) -> builtins.list[dict[str, Any]]:
        """Purge audit records (one scope, or all), newest first."""
        return self._state.memory_audit_log(scope)

    def compact(self, scope: str = DEFAULT_SCOPE, *, key: str | None = None, keys: builtins.list[str] | None = None,
                prefix: str | None = None, target: str | None = None, model: str | None = None,
                instructions: str | None = None) -> dict[str, Any]:
        """Summarise with the LLM into a new version (of `key`, or of `target`, default `_compaction/summary`);
        returns the compaction-log record."""
        from kitaru.memory._compact import compact

        return compact(self._state, scope, key=key, keys=keys, prefix=prefix, target=target, model=model,
                       instructions=instructions)

    def compaction_log(self, scope: str | None = None) -> builtins.list[dict[str, Any]]:
        """Compaction records (one scope, or all), newest first."""
        return self._state.memory_compaction_log(scope)

    def reindex(self) -> dict[str, int]:
        """Rebuild the latest-version index from the stored versions (admin only)."""
        return self._state.memory_reindex()
