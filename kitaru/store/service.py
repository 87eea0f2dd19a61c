"""The state service: every read and write of executions, journal, waits, logs and artifacts.

One service layer for every transport: the embedded runtime and `KitaruClient` call it
in-process; the server exposes the same calls over HTTP. All coordination (leases,
idempotent journal writes, wait resolution) happens in the database, so any number of
processes can share one store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from kitaru.errors import KitaruStateError
from kitaru.store._catalog import CatalogService
from kitaru.store._memory import MemoryService
from kitaru.store._rows import dumps, now, to_dict

ACTIVE = ("running",)
RESUMABLE = ("waiting", "failed")
TERMINAL = ("completed", "failed", "cancelled")


class Database(Protocol):
    """What the service needs from a database: transactions and reads with :named params."""

    dialect: str

    def transaction(self) -> Any: ...

    def execute_one(self, sql: str, params: Any = None) -> Any: ...

    def query(self, sql: str, params: Any = None) -> list[Any]: ...


class LeaseLost(Exception):
    """This runner no longer owns the execution's lease (it expired, or another runner took over)."""


class StateService(CatalogService, MemoryService):
    """Executions, journal, waits, logs and artifacts (+ the catalog and durable memory) over one `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- executions
    def create_execution(
        self, record: dict[str, Any], *, owner: str, lease_ttl: float, seed: dict[str, Any] | None = None
    ) -> None:
        """Insert a new running execution whose lease `owner` holds.

        `seed` ({"calls": [...], "waits": [...]}) pre-fills a replay's journal in the same
        transaction, so an execution never exists without the outputs it was promised.
        """
        t = now()
        params = {
            "flow_name": record["flow_name"],
            "flow_source": dumps(record["flow_source"]),
            "stack": record.get("stack", "default"),
            "config": dumps(record.get("config", {})),
            "inputs": dumps(record["inputs"]),
            "original_exec_id": record.get("original_exec_id"),
            "replay_from": record.get("replay_from"),
            "id": record["id"],
            "status": record.get("status", "running"),
            "owner": owner,
            "expires": t + lease_ttl,
            "t": t,
        }
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO executions (id, flow_name, flow_source, status, stack, config, inputs,"
                " original_exec_id, replay_from, lease_owner, lease_expires_at, runs, created_at, updated_at)"
                " VALUES (:id, :flow_name, :flow_source, :status, :stack, :config, :inputs,"
                " :original_exec_id, :replay_from, :owner, :expires, 1, :t, :t)",
                params,
            )
            if seed:
                self._seed(tx, record["id"], seed.get("calls") or [], seed.get("waits") or [], t)

    def get_execution(self, exec_id: str) -> dict[str, Any] | None:
        """Return one execution row (as a dict), or None."""
        rows = self.db.query("SELECT * FROM executions WHERE id = :id", {"id": exec_id})
        return to_dict(rows[0]) if rows else None

    def find_executions(self, prefix: str, limit: int = 10) -> list[str]:
        """Execution ids starting with `prefix` (for short ids typed by humans)."""
        rows = self.db.query(
            "SELECT id FROM executions WHERE id LIKE :p ORDER BY created_at DESC LIMIT :n",
            {"p": "".join(c for c in prefix if c.isalnum()) + "%", "n": limit},
        )
        return [r["id"] for r in rows]

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        before: tuple[float, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; filter by flow/status; page by offset or keyset (`before`)."""
        where, params = ["1=1"], {"limit": limit, "offset": offset}
        if flow:
            where.append("flow_name = :flow")
            params["flow"] = flow
        if status:
            where.append("status = :status")
            params["status"] = status
        if before:
            where.append("(created_at < :bt OR (created_at = :bt AND id < :bid))")
            params["bt"], params["bid"] = before
        rows = self.db.query(
            f"SELECT * FROM executions WHERE {' AND '.join(where)}"
            " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
            params,
        )
        return [to_dict(r) for r in rows]  # type: ignore[misc]

    def claim_execution(
        self, exec_id: str, *, owner: str, lease_ttl: float, statuses: Sequence[str] = RESUMABLE
    ) -> dict[str, Any]:
        """Take the lease of an execution in one of `statuses` and mark it running.

        Exactly one of several concurrent claimers wins; the others get KitaruStateError.
        A running execution whose lease expired (its runner died) can always be claimed.
        """
        t = now()
        allowed = ", ".join(f"'{s}'" for s in statuses)
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE executions SET status = 'running', lease_owner = :owner, lease_expires_at = :exp,"
                " failure = NULL, ended_at = NULL, cancel_requested = 0, runs = runs + 1, updated_at = :t"
                f" WHERE id = :id AND (status IN ({allowed})"
                "   OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < :t)))",
                {"owner": owner, "exp": t + lease_ttl, "t": t, "id": exec_id},
            )
            if cur.rowcount != 1:
                row = tx.execute("SELECT status, lease_expires_at FROM executions WHERE id = :id", {"id": exec_id}).fetchone()
                if row is None:
                    raise KitaruStateError(f"execution {exec_id} does not exist; list them with `kitaru executions list`")
                status = row["status"]
                if status == "running":
                    raise KitaruStateError(
                        f"execution {exec_id} is already running in another process; wait for it or cancel it"
                    )
                raise KitaruStateError(f"execution {exec_id} is {status}; only {', '.join(statuses)} executions can be continued")
            row = tx.execute("SELECT * FROM executions WHERE id = :id", {"id": exec_id}).fetchone()
        return to_dict(row)  # type: ignore[return-value]

    def renew_lease(self, exec_id: str, *, owner: str, lease_ttl: float) -> bool:
        """Extend this runner's lease; False if it was lost. One statement, also the heartbeat's cancel
        check: raises CancelRequested (after renewing) when a cancel was requested."""
        row = self.db.execute_one(
            "UPDATE executions SET lease_expires_at = :exp WHERE id = :id AND lease_owner = :owner"
            " AND status = 'running' RETURNING cancel_requested",
            {"exp": now() + lease_ttl, "id": exec_id, "owner": owner},
        ).fetchone()
        if row is None:
            return False
        if row[0]:
            raise CancelRequested(exec_id)
        return True

    def finish_execution(
        self,
        exec_id: str,
        *,
        owner: str,
        status: str,
        result: dict[str, Any] | None = None,
        failure: dict[str, Any] | None = None,
    ) -> None:
        """End this runner's turn: completed/failed/cancelled (terminal) or waiting (released)."""
        t = now()
        ended = t if status in TERMINAL else None
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE executions SET status = :status, result = :result, failure = :failure, ended_at = :ended,"
                " lease_owner = NULL, lease_expires_at = NULL, updated_at = :t WHERE id = :id AND lease_owner = :owner",
                {"status": status, "result": dumps(result), "failure": dumps(failure), "ended": ended, "t": t,
                 "id": exec_id, "owner": owner},
            )
            if cur.rowcount != 1:
                raise LeaseLost(exec_id)

    def request_cancel(self, exec_id: str) -> dict[str, Any]:
        """Cancel: a waiting/failed execution ends now; a running one stops at its next checkpoint."""
        t = now()
        with self.db.transaction() as tx:
            row = tx.execute("SELECT status FROM executions WHERE id = :id", {"id": exec_id}).fetchone()
            if row is None:
                raise KitaruStateError(f"execution {exec_id} does not exist; list them with `kitaru executions list`")
            if row["status"] in ("completed", "cancelled"):
                raise KitaruStateError(f"execution {exec_id} is already {row['status']}; nothing to cancel")
            if row["status"] == "running":
                tx.execute("UPDATE executions SET cancel_requested = 1, updated_at = :t WHERE id = :id", {"t": t, "id": exec_id})
            else:
                tx.execute(
                    "UPDATE executions SET status = 'cancelled', ended_at = :t, updated_at = :t,"
                    " failure = :f WHERE id = :id",
                    {"t": t, "id": exec_id, "f": dumps({"origin": "cancelled", "reason": "cancelled by user", "message": "cancelled"})},
                )
                tx.execute("UPDATE waits SET status = 'aborted' WHERE exec_id = :id AND status = 'pending'", {"id": exec_id})
        return self.get_execution(exec_id)  # type: ignore[return-value]

    def expire_lost_runners(self) -> list[dict[str, Any]]:
        """Mark running executions whose lease expired as failed ("runner lost"); return them."""
        t = now()
        stale = self.db.query(
            "SELECT id FROM executions WHERE status = 'running' AND lease_expires_at < :t", {"t": t}
        )
        if not stale:
            return []
        failure = dumps({"origin": "runtime", "reason": "runner lost",
                         "message": "the process running this execution stopped heartbeating (crashed or killed);"
                                    " continue it with `kitaru executions retry`"})
        lost = []
        with self.db.transaction() as tx:
            for row in stale:
                cur = tx.execute(
                    "UPDATE executions SET status = 'failed', failure = :f, lease_owner = NULL, lease_expires_at = NULL,"
                    " ended_at = :t, updated_at = :t WHERE id = :id AND status = 'running' AND lease_expires_at < :t",
                    {"f": failure, "t": t, "id": row["id"]},
                )
                if cur.rowcount == 1:
                    lost.append(row["id"])
        return [self.get_execution(i) for i in lost]  # type: ignore[misc]

    def set_execution_metadata(self, exec_id: str, metadata: dict[str, Any]) -> None:
        """Merge `metadata` into the execution's metadata (kitaru.log in the flow body)."""
        with self.db.transaction() as tx:
            row = tx.execute("SELECT metadata FROM executions WHERE id = :id", {"id": exec_id}).fetchone()
            merged = {**(to_dict(row) or {}).get("metadata", {}), **metadata}
            tx.execute("UPDATE executions SET metadata = :m WHERE id = :id", {"m": dumps(merged), "id": exec_id})

    # ------------------------------------------------------------------- journal
    def load_journal(self, exec_id: str) -> list[dict[str, Any]]:
        """Every checkpoint call of an execution, in call order."""
        rows = self.db.query("SELECT * FROM checkpoint_calls WHERE exec_id = :id ORDER BY seq", {"id": exec_id})
        return [to_dict(r) for r in rows]  # type: ignore[misc]

    def load_attempts(self, exec_id: str) -> list[dict[str, Any]]:
        """Every attempt of every checkpoint call of an execution."""
        rows = self.db.query(
            "SELECT * FROM checkpoint_attempts WHERE exec_id = :id ORDER BY started_at, attempt", {"id": exec_id}
        )
        return [to_dict(r) for r in rows]  # type: ignore[misc]

    def check_boundary(self, exec_id: str, *, owner: str) -> None:
        """A checkpoint boundary: raise LeaseLost if `owner` lost the lease, CancelRequested if asked to stop."""
        rows = self.db.query("SELECT lease_owner, cancel_requested FROM executions WHERE id = :id", {"id": exec_id})
        if not rows or rows[0]["lease_owner"] != owner:
            raise LeaseLost(exec_id)
        if rows[0]["cancel_requested"]:
            raise CancelRequested(exec_id)

    def start_call(self, call: dict[str, Any], *, owner: str, attempt: int | None = None) -> int:
        """Mark a call running (attempt `attempt`, or the next one); returns the attempt number.

        One statement, written only while `owner` holds the lease and no cancel was requested
        (else LeaseLost / CancelRequested). A completed call is never set back to running.
        """
        params = {**call, "t": call.get("started_at") or now(), "owner": owner, "attempt": attempt or 1}
        bump = "checkpoint_calls.attempts + 1" if attempt is None else "excluded.attempts"
        row = self.db.execute_one(
            "INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts,"
            " input_hash, input_preview, cache_key, started_at)"
            " SELECT id, :invocation_id, CAST(:seq AS INTEGER), :name, :type, 'running', CAST(:attempt AS INTEGER),"
            " :input_hash, :input_preview, :cache_key, CAST(:t AS FLOAT) FROM executions"
            " WHERE id = :exec_id AND lease_owner = :owner AND cancel_requested = 0"
            f" ON CONFLICT (exec_id, invocation_id) DO UPDATE SET status = 'running', attempts = {bump},"
            " error = NULL, ended_at = NULL, started_at = excluded.started_at"
            " WHERE checkpoint_calls.status <> 'completed'"
            " RETURNING attempts",
            params,
        ).fetchone()
        if row is None:
            self.check_boundary(call["exec_id"], owner=owner)
            return attempt or 0  # already completed meanwhile
        return int(row[0])

    def _end_attempt(self, tx: Any, p: dict[str, Any], status: str) -> None:
        tx.execute(
            "INSERT INTO checkpoint_attempts (exec_id, invocation_id, attempt, status, error, started_at, ended_at)"
            " VALUES (:exec_id, :invocation_id, :attempt, :status, :error, :started, :t)"
            " ON CONFLICT (exec_id, invocation_id, attempt) DO UPDATE SET status = excluded.status,"
            " error = excluded.error, ended_at = excluded.ended_at",
            {**p, "status": status},
        )

    def _upsert_call(self, tx: Any, p: dict[str, Any], status: str, *, fenced: bool) -> int:
        fence = " AND lease_owner = :owner" if fenced else ""
        return int(tx.execute(
            "INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts, input_hash,"
            " input_preview, cache_key, output, error, metadata, started_at, ended_at)"
            " SELECT id, :invocation_id, CAST(:seq AS INTEGER), :name, :type, :status, CAST(:attempt AS INTEGER),"
            " :input_hash, :input_preview, :cache_key, :output, :error, :metadata, CAST(:started AS FLOAT),"
            f" CAST(:ended AS FLOAT) FROM executions WHERE id = :exec_id{fence}"
            " ON CONFLICT (exec_id, invocation_id) DO UPDATE SET status = excluded.status,"
            " attempts = excluded.attempts, output = excluded.output, error = excluded.error,"
            " metadata = excluded.metadata, started_at = excluded.started_at, ended_at = excluded.ended_at",
            {**p, "status": status},
        ).rowcount)

    def complete_call(
        self, call: dict[str, Any], attempt: int, *, owner: str, output: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Commit a completed call and its attempt in one transaction (the output bytes are already stored).

        Fenced by the lease: a runner that lost its lease gets LeaseLost and records nothing.
        """
        t = now()
        p = {**call, "attempt": attempt, "owner": owner, "t": t, "ended": t, "started": call.get("started_at") or t,
             "output": dumps(output), "metadata": dumps(metadata or {}), "error": None}
        with self.db.transaction() as tx:
            if self._upsert_call(tx, p, "completed", fenced=True) != 1:
                raise LeaseLost(call["exec_id"])
            self._end_attempt(tx, p, "completed")

    def fail_call(
        self, call: dict[str, Any], attempt: int, *, error: dict[str, Any], final: bool,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Record a failed attempt; `final` marks the call itself failed (no retries left)."""
        t = now()
        p = {**call, "attempt": attempt, "t": t, "ended": t if final else None, "started": call.get("started_at") or t,
             "output": None, "metadata": dumps(metadata or {}), "error": dumps(error)}
        with self.db.transaction() as tx:
            self._upsert_call(tx, p, "failed" if final else "running", fenced=False)
            self._end_attempt(tx, p, "failed")

    def record_reused_call(self, call: dict[str, Any], *, owner: str) -> None:
        """Record a completed call whose output came from the cross-execution cache."""
        t = now()
        with self.db.transaction() as tx:
            ex = tx.execute("SELECT lease_owner FROM executions WHERE id = :exec_id", call).fetchone()
            if ex is None or ex["lease_owner"] != owner:
                raise LeaseLost(call["exec_id"])
            tx.execute(
                "INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts, input_hash,"
                " input_preview, output, cache_key, reused_from, metadata, started_at, ended_at)"
                " VALUES (:exec_id, :invocation_id, :seq, :name, :type, 'completed', 0, :input_hash, :input_preview,"
                " :output, :cache_key, :reused_from, :metadata, :t, :t)",
                {**call, "output": dumps(call["output"]), "metadata": dumps(call.get("metadata") or {}), "t": t},
            )

    def find_cached_output(self, cache_key: str) -> dict[str, Any] | None:
        """The newest completed call with this cache key (code + inputs hash), if any."""
        rows = self.db.query(
            "SELECT exec_id, output FROM checkpoint_calls WHERE cache_key = :k AND status = 'completed'"
            " ORDER BY ended_at DESC LIMIT 1",
            {"k": cache_key},
        )
        return to_dict(rows[0]) if rows else None

    @staticmethod
    def _seed(tx: Any, exec_id: str, calls: Iterable[dict[str, Any]], waits: Iterable[dict[str, Any]], t: float) -> None:
        """Copy completed calls (and answered waits) into a new execution's journal (replay)."""
        for c in calls:
            tx.execute(
                "INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts, input_hash,"
                " input_preview, output, cache_key, reused_from, metadata, started_at, ended_at)"
                " VALUES (:exec_id, :invocation_id, :seq, :name, :type, 'completed', 0, :input_hash, :input_preview,"
                " :output, :cache_key, :reused_from, :metadata, :t, :t)",
                {**c, "exec_id": exec_id, "output": dumps(c["output"]), "metadata": dumps(c.get("metadata") or {}),
                 "t": t},
            )
        for w in waits:
            tx.execute(
                "INSERT INTO waits (exec_id, invocation_id, name, question, schema, metadata, status, answer,"
                " created_at, answered_at) VALUES (:exec_id, :invocation_id, :name, :question, :schema, :metadata,"
                " :status, :answer, :t, :t)",
                {**w, "exec_id": exec_id, "schema": dumps(w.get("schema")), "metadata": dumps(w.get("metadata") or {}),
                 "answer": dumps(w.get("answer")), "t": t},
            )

    # --------------------------------------------------------------------- waits
    def open_wait(self, wait: dict[str, Any]) -> dict[str, Any]:
        """Create the pending wait if it does not exist yet; return the stored wait."""
        t = now()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO waits (exec_id, invocation_id, name, question, schema, metadata, status, created_at)"
                " VALUES (:exec_id, :invocation_id, :name, :question, :schema, :metadata, 'pending', :t)"
                " ON CONFLICT (exec_id, invocation_id) DO NOTHING",
                {**wait, "schema": dumps(wait.get("schema")), "metadata": dumps(wait.get("metadata") or {}), "t": t},
            )
            row = tx.execute(
                "SELECT * FROM waits WHERE exec_id = :exec_id AND invocation_id = :invocation_id", wait
            ).fetchone()
        return to_dict(row)  # type: ignore[return-value]

    def get_wait(self, exec_id: str, invocation_id: str) -> dict[str, Any] | None:
        """One wait of an execution, by its invocation id."""
        rows = self.db.query(
            "SELECT * FROM waits WHERE exec_id = :e AND invocation_id = :i", {"e": exec_id, "i": invocation_id}
        )
        return to_dict(rows[0]) if rows else None

    def list_waits(self, exec_id: str | None = None, status: str | None = "pending") -> list[dict[str, Any]]:
        """Waits of one execution (or of all), optionally only those with `status`."""
        where, params = ["1=1"], {}
        if exec_id:
            where.append("exec_id = :e")
            params["e"] = exec_id
        if status:
            where.append("status = :s")
            params["s"] = status
        rows = self.db.query(f"SELECT * FROM waits WHERE {' AND '.join(where)} ORDER BY created_at", params)
        return [to_dict(r) for r in rows]  # type: ignore[misc]

    def resolve_wait(self, exec_id: str, invocation_id: str, *, status: str, answer: Any = None) -> bool:
        """Answer or abort a pending wait; False if it was not pending (someone else won)."""
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE waits SET status = :s, answer = :a, answered_at = :t"
                " WHERE exec_id = :e AND invocation_id = :i AND status = 'pending'",
                {"s": status, "a": dumps(answer), "t": now(), "e": exec_id, "i": invocation_id},
            )
            return cur.rowcount == 1

    # ---------------------------------------------------------------------- logs
    def append_logs(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append a batch of log entries in one transaction."""
        if not entries:
            return
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO logs (exec_id, invocation_id, ts, stream, level, message)"
                " VALUES (:exec_id, :invocation_id, :ts, :stream, :level, :message)",
                entries,
            )

    def query_logs(
        self, exec_id: str, *, invocation_id: str | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Log entries of an execution (optionally one checkpoint) after `after_id`, oldest first."""
        where, params = ["exec_id = :e", "id > :a"], {"e": exec_id, "a": after_id, "n": limit}
        if invocation_id:
            where.append("invocation_id = :i")
            params["i"] = invocation_id
        rows = self.db.query(f"SELECT * FROM logs WHERE {' AND '.join(where)} ORDER BY id LIMIT :n", params)
        return [to_dict(r) for r in rows]  # type: ignore[misc]

    # ----------------------------------------------------------------- artifacts
    def save_artifact(self, record: dict[str, Any]) -> None:
        """Record (or replace) a named artifact of an execution."""
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO artifacts (exec_id, name, type, tags, ref, invocation_id, created_at)"
                " VALUES (:exec_id, :name, :type, :tags, :ref, :invocation_id, :t)"
                " ON CONFLICT (exec_id, name) DO UPDATE SET type = excluded.type, tags = excluded.tags,"
                " ref = excluded.ref, invocation_id = excluded.invocation_id, created_at = excluded.created_at",
                {**record, "tags": dumps(record.get("tags") or []), "ref": dumps(record["ref"]), "t": now()},
            )

    def list_artifacts(self, exec_id: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Artifacts, optionally of one execution and/or with one name, newest first."""
        where, params = ["1=1"], {}
        if exec_id:
            where.append("exec_id = :e")
            params["e"] = exec_id
        if name:
            where.append("name = :n")
            params["n"] = name
        rows = self.db.query(f"SELECT * FROM artifacts WHERE {' AND '.join(where)} ORDER BY created_at DESC", params)
        return [to_dict(r) for r in rows]  # type: ignore[misc]

class CancelRequested(Exception):
    """Raised at a checkpoint boundary when the execution was asked to cancel."""



def new_exec_id() -> str:
    """A new, globally unique execution id."""
    return uuid.uuid4().hex
