"""The durable-memory half of the state service: versioned key/value entries per scope.

Every write appends a version to `memory_entries` and moves the scope's latest-version index
(`memory_keys`) in the same transaction; the index row is also the version counter, so
concurrent writers of one key get distinct versions. Values are blob refs (the bytes live in
the artifact store); a delete appends a tombstone (no value). Purges hard-delete old versions
and leave an audit record; compactions leave a compaction-log record.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.store._guards import like_prefix
from kitaru.store._rows import dumps, now, to_dict

SCOPE_TYPES = ("namespace", "flow", "execution")
RESERVED_PREFIX = "_compaction/"
_NAME = re.compile(r"[A-Za-z0-9._\-/]{1,255}")


def check_name(value: Any, what: str = "key") -> str:
    """A valid memory key or scope: 1-255 letters, digits, `.`, `_`, `-`, `/` (no `:`); else KitaruUsageError."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise KitaruUsageError(
            f"invalid memory {what} {value!r}: use 1-255 letters, digits, '.', '_', '-' or '/' (no ':' or spaces),"
            " e.g. 'user/preferences'")
    return value


def check_key(key: Any, *, reserved_ok: bool = False) -> str:
    """A valid user key: `check_name`, and not under the reserved `_compaction/` prefix."""
    check_name(key, "key")
    if key.startswith(RESERVED_PREFIX) and not reserved_ok:
        raise KitaruUsageError(
            f"memory key {key!r} is under the reserved prefix {RESERVED_PREFIX!r}, which only compaction writes;"
            " choose another key")
    result: str = key
    return result


def check_scope_type(scope_type: Any) -> str:
    """namespace | flow | execution; else KitaruUsageError."""
    if scope_type not in SCOPE_TYPES:
        raise KitaruUsageError(f"invalid scope_type {scope_type!r}; use one of {', '.join(SCOPE_TYPES)}")
    result: str = scope_type
    return result


def _entry(row: Any) -> dict[str, Any]:
    out = to_dict(row) or {}
    out["deleted"] = bool(out.get("deleted"))
    return out


def _log(row: Any) -> dict[str, Any]:
    out = to_dict(row) or {}
    if isinstance(out.get("metadata"), str):
        out["metadata"] = json.loads(out["metadata"])
    return out


class MemoryService:
    """Durable memory over `self.db` (mixed into StateService)."""

    db: Any

    # ------------------------------------------------------------------- writes
    def _memory_write(self, tx: Any, scope: str, key: str, ref: dict[str, Any] | None, *, scope_type: str,
                      exec_id: str | None, actor: str | None, t: float) -> dict[str, Any]:
        p = {"s": scope, "k": key, "st": scope_type, "v": dumps(ref), "d": 1 if ref is None else 0,
             "e": exec_id, "a": actor, "t": t}
        version = tx.execute(
            "INSERT INTO memory_keys (scope, key, scope_type, version, value, deleted, updated_at)"
            " VALUES (:s, :k, :st, 1, :v, :d, :t) ON CONFLICT (scope, key) DO UPDATE SET"
            " version = memory_keys.version + 1, scope_type = excluded.scope_type, value = excluded.value,"
            " deleted = excluded.deleted, updated_at = excluded.updated_at RETURNING version", p,
        ).fetchone()[0]
        tx.execute(
            "INSERT INTO memory_entries (scope, key, version, scope_type, value, deleted, exec_id, actor, created_at)"
            " VALUES (:s, :k, :n, :st, :v, :d, :e, :a, :t)", {**p, "n": int(version)},
        )
        return {"scope": scope, "key": key, "version": int(version), "scope_type": scope_type, "value": ref,
                "deleted": ref is None, "exec_id": exec_id, "actor": actor, "created_at": t}

    def memory_set(self, scope: str, key: str, ref: dict[str, Any], *, scope_type: str = "namespace",
                   exec_id: str | None = None, actor: str | None = None) -> dict[str, Any]:
        """Append a new version of `key` holding the blob `ref`; return the new entry."""
        check_name(scope, "scope"), check_key(key), check_scope_type(scope_type)
        if not isinstance(ref, dict) or "sha256" not in ref:
            raise KitaruUsageError("a memory value must be a blob ref (from kitaru.artifacts.put_value)")
        with self.db.transaction() as tx:
            return self._memory_write(tx, scope, key, ref, scope_type=scope_type, exec_id=exec_id, actor=actor,
                                      t=now())

    def memory_delete(self, scope: str, key: str, *, exec_id: str | None = None,
                      actor: str | None = None) -> dict[str, Any] | None:
        """Append a tombstone to a live key; None (nothing written) if it does not exist or is already deleted."""
        check_name(scope, "scope"), check_key(key)
        with self.db.transaction() as tx:
            row = tx.execute("SELECT scope_type, deleted FROM memory_keys WHERE scope = :s AND key = :k",
                             {"s": scope, "k": key}).fetchone()
            if row is None or row["deleted"]:
                return None
            return self._memory_write(tx, scope, key, None, scope_type=row["scope_type"], exec_id=exec_id,
                                      actor=actor, t=now())

    # -------------------------------------------------------------------- reads
    def memory_get(self, scope: str, key: str, version: int | None = None) -> dict[str, Any] | None:
        """The latest (or a given) version of a key, tombstones included; None if there is none."""
        check_name(scope, "scope"), check_name(key)
        if version is None:
            rows = self.db.query(
                "SELECT e.* FROM memory_keys k JOIN memory_entries e ON e.scope = k.scope AND e.key = k.key"
                " AND e.version = k.version WHERE k.scope = :s AND k.key = :k", {"s": scope, "k": key})
        else:
            rows = self.db.query("SELECT * FROM memory_entries WHERE scope = :s AND key = :k AND version = :n",
                                 {"s": scope, "k": key, "n": int(version)})
        return _entry(rows[0]) if rows else None

    def memory_list(self, scope: str, prefix: str | None = None, *, include_deleted: bool = False,
                    limit: int = 1000) -> list[dict[str, Any]]:
        """The latest version of each key in a scope (live keys only unless `include_deleted`), by key."""
        check_name(scope, "scope")
        where, params = ["k.scope = :s"], {"s": scope, "n": int(limit)}
        if prefix:
            check_name(prefix, "prefix")
            where.append("k.key LIKE :p ESCAPE '!'")
            params["p"] = like_prefix(prefix)
        if not include_deleted:
            where.append("k.deleted = 0")
        rows = self.db.query(
            "SELECT e.* FROM memory_keys k JOIN memory_entries e ON e.scope = k.scope AND e.key = k.key"
            f" AND e.version = k.version WHERE {' AND '.join(where)} ORDER BY k.key LIMIT :n", params)
        return [_entry(r) for r in rows]

    def memory_history(self, scope: str, key: str) -> list[dict[str, Any]]:
        """Every stored version of a key, newest first (tombstones included)."""
        check_name(scope, "scope"), check_name(key)
        rows = self.db.query("SELECT * FROM memory_entries WHERE scope = :s AND key = :k ORDER BY version DESC",
                             {"s": scope, "k": key})
        return [_entry(r) for r in rows]

    def memory_scopes(self) -> list[dict[str, Any]]:
        """Every scope with its type, live key count, stored version count and last write."""
        rows = self.db.query(
            "SELECT k.scope, MAX(k.scope_type) AS scope_type, SUM(CASE WHEN k.deleted = 0 THEN 1 ELSE 0 END) AS keys,"
            " MAX(k.updated_at) AS updated_at,"
            " (SELECT COUNT(*) FROM memory_entries e WHERE e.scope = k.scope) AS versions"
            " FROM memory_keys k GROUP BY k.scope ORDER BY k.scope")
        return [{"scope": r["scope"], "scope_type": r["scope_type"], "keys": int(r["keys"] or 0),
                 "versions": int(r["versions"] or 0), "updated_at": r["updated_at"]} for r in rows]

    # -------------------------------------------------------------------- admin
    def _purge_key(self, tx: Any, scope: str, key: str, keep: int) -> list[int]:
        """Delete all but the newest `keep` versions of a key (a tombstoned key entirely); removed versions."""
        latest = tx.execute("SELECT version, deleted FROM memory_keys WHERE scope = :s AND key = :k",
                            {"s": scope, "k": key}).fetchone()
        rows = tx.execute("SELECT version FROM memory_entries WHERE scope = :s AND key = :k ORDER BY version DESC",
                          {"s": scope, "k": key}).fetchall()
        versions = [int(r["version"]) for r in rows]
        gone = versions if (latest is None or latest["deleted"] or keep == 0) else versions[keep:]
        for v in gone:
            tx.execute("DELETE FROM memory_entries WHERE scope = :s AND key = :k AND version = :n",
                       {"s": scope, "k": key, "n": v})
        if latest is not None and (latest["deleted"] or keep == 0):
            tx.execute("DELETE FROM memory_keys WHERE scope = :s AND key = :k", {"s": scope, "k": key})
        return gone

    def _audit(self, tx: Any, scope: str, key: str | None, action: str, detail: dict[str, Any],
               actor: str | None) -> dict[str, Any]:
        t = now()
        tx.execute("INSERT INTO memory_audit (scope, key, action, metadata, actor, created_at)"
                   " VALUES (:s, :k, :a, :m, :who, :t)",
                   {"s": scope, "k": key, "a": action, "m": dumps(detail), "who": actor, "t": t})
        return {"scope": scope, "key": key, "action": action, "metadata": detail, "actor": actor, "created_at": t}

    def memory_purge(self, scope: str, key: str, *, keep: int = 1, actor: str | None = None) -> dict[str, Any]:
        """Hard-delete old versions of a key (all of a deleted key's), and record an audit entry; returns it."""
        check_name(scope, "scope"), check_name(key)
        if keep < 0:
            raise KitaruUsageError("keep must be >= 0 (the number of newest versions to keep)")
        with self.db.transaction() as tx:
            gone = self._purge_key(tx, scope, key, keep)
            return self._audit(tx, scope, key, "purge", {"keep": keep, "removed": {key: gone} if gone else {},
                                                         "removed_count": len(gone)}, actor)

    def memory_purge_scope(self, scope: str, *, keep: int = 1, actor: str | None = None) -> dict[str, Any]:
        """`memory_purge` for every key of a scope (keep=0 empties the scope), with one audit entry."""
        check_name(scope, "scope")
        if keep < 0:
            raise KitaruUsageError("keep must be >= 0 (the number of newest versions to keep per key)")
        with self.db.transaction() as tx:
            keys = [r["key"] for r in tx.execute(
                "SELECT DISTINCT key FROM memory_entries WHERE scope = :s UNION SELECT key FROM memory_keys"
                " WHERE scope = :s", {"s": scope}).fetchall()]
            removed = {k: gone for k in sorted(keys) if (gone := self._purge_key(tx, scope, k, keep))}
            return self._audit(tx, scope, None, "purge_scope", {"keep": keep, "removed": removed,
                                                                "removed_count": sum(map(len, removed.values()))},
                               actor)

    def memory_audit_log(self, scope: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Purge audit records (of one scope, or all), newest first."""
        if scope is not None:
            check_name(scope, "scope")
        where, params = ("WHERE scope = :s", {"s": scope, "n": limit}) if scope else ("", {"n": limit})
        rows = self.db.query(f"SELECT * FROM memory_audit {where} ORDER BY id DESC LIMIT :n", params)
        return [_log(r) for r in rows]

    def memory_compact(self, scope: str, key: str, ref: dict[str, Any], *, sources: list[dict[str, Any]],
                       model: str | None = None, scope_type: str = "namespace",
                       actor: str | None = None) -> dict[str, Any]:
        """Write a compaction summary as a new version of `key` (may be under `_compaction/`) and log it."""
        check_name(scope, "scope"), check_key(key, reserved_ok=True), check_scope_type(scope_type)
        if not isinstance(ref, dict) or "sha256" not in ref:
            raise KitaruUsageError("a memory value must be a blob ref (from kitaru.artifacts.put_value)")
        clean = [{"key": str(s["key"]), "version": int(s["version"])} for s in sources]
        t = now()
        with self.db.transaction() as tx:
            entry = self._memory_write(tx, scope, key, ref, scope_type=scope_type, exec_id=None, actor=actor, t=t)
            detail = {"sources": clean, "model": model}
            row = tx.execute(
                "INSERT INTO memory_compactions (scope, key, version, metadata, actor, created_at)"
                " VALUES (:s, :k, :n, :m, :a, :t) RETURNING id",
                {"s": scope, "k": key, "n": entry["version"], "m": dumps(detail), "a": actor, "t": t}).fetchone()
        return {"id": int(row[0]), "scope": scope, "key": key, "version": entry["version"], "metadata": detail,
                "actor": actor, "created_at": t, "entry": entry}

    def memory_compaction_log(self, scope: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Compaction records (of one scope, or all), newest first."""
        if scope is not None:
            check_name(scope, "scope")
        where, params = ("WHERE scope = :s", {"s": scope, "n": limit}) if scope else ("", {"n": limit})
        rows = self.db.query(f"SELECT * FROM memory_compactions {where} ORDER BY id DESC LIMIT :n", params)
        return [_log(r) for r in rows]

    def memory_reindex(self) -> dict[str, int]:
        """Rebuild the latest-version index from the stored versions; returns key and scope counts."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM memory_keys")
            tx.execute(
                "INSERT INTO memory_keys (scope, key, scope_type, version, value, deleted, updated_at)"
                " SELECT e.scope, e.key, e.scope_type, e.version, e.value, e.deleted, e.created_at"
                " FROM memory_entries e JOIN (SELECT scope, key, MAX(version) AS version FROM memory_entries"
                " GROUP BY scope, key) m ON e.scope = m.scope AND e.key = m.key AND e.version = m.version")
            row = tx.execute("SELECT COUNT(*) AS n, COUNT(DISTINCT scope) AS s FROM memory_keys").fetchone()
        return {"keys": int(row["n"]), "scopes": int(row["s"])}
