"""Durable memory on a Kitaru server: the MemoryService calls over HTTP (same names, shapes, errors)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru.store._http import NotFound


class RemoteMemory:
    """Mixed into RemoteStateService: memory reads and writes through `/api/v1/memory/...`."""

    if TYPE_CHECKING:  # provided by RemoteStateService
        def _get(self, path: str, **params: Any) -> Any: ...
        def _send(self, method: str, path: str, body: Any = None, *, dedupe: bool = False, **kw: Any) -> Any: ...

    def memory_set(self, scope: str, key: str, ref: dict[str, Any], *, scope_type: str = "namespace",
                   exec_id: str | None = None, actor: str | None = None) -> dict[str, Any]:
        """Append a new version of `key` holding the blob `ref` (the server records who wrote it)."""
        result: dict[str, Any] = self._send("PUT", "/memory/entry", {"scope": scope, "key": key, "value": ref,
                                                                     "scope_type": scope_type, "exec_id": exec_id})
        return result

    def memory_delete(self, scope: str, key: str, *, exec_id: str | None = None,
                      actor: str | None = None) -> dict[str, Any] | None:
        """Append a tombstone to a live key; None if it was not live."""
        result: dict[str, Any] | None = (
            self._send("POST", "/memory/delete", {"scope": scope, "key": key, "exec_id": exec_id})
        )
        return result

    def memory_get(self, scope: str, key: str, version: int | None = None) -> dict[str, Any] | None:
        """The latest (or a given) version of a key, tombstones included; None if there is none."""
        try:
            result: dict[str, Any] | None = self._get("/memory/entry", scope=scope, key=key, version=version)
            return result
        except NotFound:
            return None

    def memory_list(self, scope: str, prefix: str | None = None, *, include_deleted: bool = False,
                    limit: int = 1000) -> list[dict[str, Any]]:
        """The latest version of each key in a scope, by key."""
        result: list[dict[str, Any]] = self._get("/memory/entries", scope=scope, prefix=prefix,
                                                 include_deleted=str(include_deleted).lower(), limit=limit)
        return result

    def memory_history(self, scope: str, key: str) -> list[dict[str, Any]]:
        """Every stored version of a key, newest first."""
        result: list[dict[str, Any]] = self._get("/memory/history", scope=scope, key=key)
        return result

    def memory_scopes(self) -> list[dict[str, Any]]:
        """Every scope with its key and version counts."""
        result: list[dict[str, Any]] = self._get("/memory/scopes")
        return result

    def memory_purge(self, scope: str, key: str, *, keep: int = 1, actor: str | None = None) -> dict[str, Any]:
        """Hard-delete old versions of a key (admin); the audit record."""
        result: dict[str, Any] = self._send("POST", "/memory/purge", {"scope": scope, "key": key, "keep": keep})
        return result

    def memory_purge_scope(self, scope: str, *, keep: int = 1, actor: str | None = None) -> dict[str, Any]:
        """Hard-delete old versions of every key of a scope (admin); the audit record."""
        result: dict[str, Any] = self._send("POST", "/memory/purge", {"scope": scope, "keep": keep})
        return result

    def memory_audit_log(self, scope: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Purge audit records, newest first."""
        result: list[dict[str, Any]] = self._get("/memory/audit", scope=scope, limit=limit)
        return result

    def memory_compact(self, scope: str, key: str, ref: dict[str, Any], *, sources: list[dict[str, Any]],
                       model: str | None = None, scope_type: str = "namespace",
                       actor: str | None = None) -> dict[str, Any]:
        """Record a compaction summary as a new version of `key`, and log it."""
        result: dict[str, Any] = self._send("POST", "/memory/compactions", {
            "scope": scope, "key": key, "value": ref, "sources": sources, "model": model, "scope_type": scope_type})
        return result

    def memory_compaction_log(self, scope: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Compaction records, newest first."""
        result: list[dict[str, Any]] = self._get("/memory/compactions", scope=scope, limit=limit)
        return result

    def memory_reindex(self) -> dict[str, int]:
        """Rebuild the latest-version index (admin)."""
        result: dict[str, int] = self._send("POST", "/memory/reindex")
        return result
