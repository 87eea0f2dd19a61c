"""The state service: every read and write of executions, journal, waits, logs and artifacts.

One service layer for every transport: the embedded runtime and `KitaruClient` call it
in-process; the server exposes the same calls over HTTP. All coordination (leases,
idempotent journal writes, wait resolution) happens in the database, so any number of
processes can share one store.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from kitaru.errors import KitaruStateError
from kitaru.store._catalog import CatalogService
from kitaru.store._guards import (
    ID_MAX,
    check_call,
    check_metadata,
    check_name,
    check_text,
    clean_log_message,
    like_prefix,
    refused_journal_write,
)
from kitaru.store._listing import ListingQueries
from kitaru.store._memory import MemoryService
from kitaru.store._protocol import RESUMABLE, JobStatusLookup
from kitaru.store._rows import dumps, now, to_dict

ACTIVE = ("running",)
TERMINAL = ("completed", "failed", "cancelled")
CLAIMABLE = frozenset(RESUMABLE)
"""What a claim may take over (besides a running execution whose lease expired): never completed or cancelled."""
LOG_POLL_INTERVAL = 0.2
"""Seconds between reads while `query_logs(wait=...)` holds for the next line."""
_CALL_DEFAULTS = {"input_hash": None, "input_preview": None, "cache_key": None}
CACHE_PREFIX = 16  # hex characters of a cache key in a cache index: 64 bits, so a false "may hit" is negligible
_INSERT_LOGS = ("INSERT INTO logs (exec_id, invocation_id, ts, stream, level, message)"
                " VALUES (:exec_id, :invocation_id, :ts, :stream, :level, :message)")


def job_grace() -> float:
    """Seconds a dispatched job its orchestrator reports pending/running keeps an expired lease (`KITARU_JOB_GRACE`)."""
    from kitaru.config._tunables import tunables

    return tunables().job_grace


class Database(Protocol):
    """What the service needs from a database: transactions and reads with :named params."""

    dialect: str

    def transaction(self) -> Any: ...

    def execute_one(self, sql: str, params: Any = None) -> Any: ...

    def query(self, sql: str, params: Any = None) -> list[Any]: ...


class LeaseLost(KitaruStateError):
    """This runner no longer owns the execution's lease (it expired, or another runner took over).

    The lease owner token is unique to one grant of the lease (a fresh one for every claim), so it
    fences like an epoch: a runner that lost its lease can record nothing more, even if it claims again.
    """

    def __init__(self, exec_id_or_message: str) -> None:
        text = exec_id_or_message
        if " " not in text:  # an execution id (ids have no spaces); a server's message is passed through
            text = (f"execution {text}: this runner no longer holds the execution's lease (it expired or another"
                    " runner took over); nothing more was recorded and this runner stops."
                    f" See `kitaru executions get {text}`")
        super().__init__(text)


class StateService(CatalogService, MemoryService, ListingQueries):
    """Executions, journal, waits, logs and artifacts (+ the catalog and durable memory) over one `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- connection
    def ping(self) -> None:
        """Raise unless the database answers and holds a Kitaru schema (readiness)."""
        self.db.query("SELECT 1 FROM alembic_version")

    @property
    def server(self) -> None:
        """None: this process opens the database itself (no server in between)."""
        return None

    def for_execution(self, exec_id: str) -> StateService:
        """The store as an execution's runtime acts with it: the same store (the database has no tokens)."""
        return self

    def close(self) -> None:
        """Close this thread's database connection (the next call reconnects)."""
        close = getattr(self.db, "close", None)
        if close is not None:
            close()

    # ---------------------------------------------------------------- executions
    def create_execution(
        self, record: dict[str, Any], *, owner: str, lease_ttl: float, seed: dict[str, Any] | None = None
    ) -> None:
        """Insert a new running execution whose lease `owner` holds.

        `seed` ({"calls": [...], "waits": [...]}) pre-fills a replay's journal in the same
        transaction, so an execution never exists without the outputs it was promised.
        """
        check_name(record.get("id"), "execution id", max_length=ID_MAX)
        check_name(record.get("flow_name"), "flow name")
        check_name(record.get("stack", "default"), "stack name")
        check_text(owner, "lease owner", max_length=128)
        if record.get("original_exec_id") is not None:
            check_name(record["original_exec_id"], "execution id", max_length=ID_MAX)
        for c in (seed or {}).get("calls") or []:
            check_call({**c, "exec_id": record["id"]})
        for w in (seed or {}).get("waits") or []:
            check_name(w.get("invocation_id"), "wait id")
            check_name(w.get("name"), "wait name")
        t = now()
        params = {
            "flow_name": record["flow_name"],
            "flow_source": dumps(record["flow_source"]),
            "stack": record.get("stack", "default"),
            "config": dumps(record.get("config", {})),
            "inputs": dumps(record["inputs"]),
            "original_exec_id": record.get("original_exec_id"),
            "replay_from": record.get("replay_from"),
            "owner_id": record.get("owner_id"),
            "owner_name": record.get("owner_name"),
            "id": record["id"],
            "status": record.get("status", "running"),
            "owner": owner,
            "expires": t + lease_ttl,
            "t": t,
        }
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO executions (id, flow_name, flow_source, status, stack, config, inputs,"
                " original_exec_id, replay_from, owner_id, owner_name, lease_owner, lease_expires_at, runs, created_at,"
                " updated_at) VALUES (:id, :flow_name, :flow_source, :status, :stack, :config, :inputs,"
                " :original_exec_id, :replay_from, :owner_id, :owner_name, :owner, :expires, 1, :t, :t)",
                params,
            )
            if seed:
                self._seed(tx, record["id"], seed.get("calls") or [], seed.get("waits") or [], t)

    def get_execution(self, exec_id: str) -> dict[str, Any] | None:
        """Return one execution row (as a dict), or None; a local runner whose lease expired reads as failed
        ("runner lost") before the reconciler records it (reads never write)."""
        rows = self.db.query("SELECT * FROM executions WHERE id = :id", {"id": exec_id})
        return as_read(to_dict(rows[0]), now()) if rows else None

    def _existing(self, exec_id: str) -> dict[str, Any]:
        """An execution this call just wrote (gone only if it was deleted concurrently: then a state error)."""
        row = self.get_execution(exec_id)
        if row is None:
            raise KitaruStateError(f"execution {exec_id} was deleted while it was being updated")
        return row

    def find_executions(self, prefix: str, limit: int = 10) -> list[str]:
        """Execution ids starting with `prefix` (for short ids typed by humans)."""
        rows = self.db.query(
            "SELECT id FROM executions WHERE id LIKE :p ESCAPE '!' ORDER BY created_at DESC LIMIT :n",
            {"p": like_prefix("".join(c for c in prefix if c.isalnum())), "n": limit},
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
        where: list[str] = ["1=1"]
        params: dict[str, object] = {"limit": limit, "offset": offset}
        if flow:
            where.append("flow_name = :flow")
            params["flow"] = flow
        t = now()
        if status:  # as `get_execution` reports them: an expired local lease is failed, not running
            where.append({"failed": f"(status = 'failed' OR ({_LOST_UNRECORDED}))",
                          "running": f"(status = 'running' AND NOT ({_LOST_UNRECORDED}))"}.get(status, "status = :status"))
            params["status"], params["now"] = status, t
        if before:
            where.append("(created_at < :bt OR (created_at = :bt AND id < :bid))")
            params["bt"], params["bid"] = before
        rows = self.db.query(
            f"SELECT * FROM executions WHERE {' AND '.join(where)}"
            " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
            params,
        )
        return [as_read(to_dict(r), t) for r in rows]

    def claim_execution(
        self, exec_id: str, *, owner: str, lease_ttl: float, statuses: Sequence[str] = RESUMABLE
    ) -> dict[str, Any]:
        """Take the lease of an execution in one of `statuses` and mark it running.

        Exactly one of several concurrent claimers wins; the others get KitaruStateError.
        A running execution whose lease expired (its runner died) can always be claimed.
        """
        t = now()
        allowed = ", ".join(f"'{s}'" for s in statuses if s in CLAIMABLE) or "NULL"
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE executions SET status = 'running', lease_owner = :owner, lease_expires_at = :exp,"
                " failure = NULL, ended_at = NULL, cancel_requested = 0, cancel_requested_at = NULL, runs = runs + 1,"
                " updated_at = :t"
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
                if status in ("completed", "cancelled"):
                    raise KitaruStateError(f"execution {exec_id} is {status} and cannot run again; start a new run"
                                           f" or replay it (`kitaru executions replay {exec_id} --from <checkpoint>`)")
                wanted = ", ".join(s for s in statuses if s in CLAIMABLE) or "waiting or failed"
                raise KitaruStateError(f"execution {exec_id} is {status}; only {wanted} executions can be continued")
            claimed: Mapping[str, Any] = tx.execute("SELECT * FROM executions WHERE id = :id",
                                                    {"id": exec_id}).fetchone()
        return to_dict(claimed)

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
                " lease_owner = NULL, lease_expires_at = NULL, updated_at = :t"
                " WHERE id = :id AND lease_owner = :owner AND status = 'running'",
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
                tx.execute("UPDATE executions SET cancel_requested = 1, cancel_requested_at = COALESCE(cancel_requested_at, :t),"
                           " updated_at = :t WHERE id = :id", {"t": t, "id": exec_id})
            else:
                tx.execute(
                    "UPDATE executions SET status = 'cancelled', ended_at = :t, updated_at = :t,"
                    " failure = :f WHERE id = :id",
                    {"t": t, "id": exec_id, "f": dumps({"origin": "cancelled", "reason": "cancelled by user", "message": "cancelled"})},
                )
                tx.execute("UPDATE waits SET status = 'aborted' WHERE exec_id = :id AND status = 'pending'", {"id": exec_id})
        return self._existing(exec_id)

    def expire_lost_runners(self, job_status: JobStatusLookup | None = None) -> list[dict[str, Any]]:
        """Mark running executions whose lease expired as failed; return them.

        With `job_status` (the reconciler asks the execution's orchestrator), a dispatched job that is
        still pending or running (a pod pulling its image, a job in a queue) keeps its execution for
        another `job_grace()` seconds, and a job the backend reports failed fails the execution with
        origin `infrastructure` and the backend's reason; otherwise the runner is lost.
        """
        t = now()
        stale = self.db.query(
            "SELECT id, stack, orchestrator, job_id FROM executions WHERE status = 'running' AND lease_expires_at < :t",
            {"t": t},
        )
        if not stale:
            return []
        verdicts = {row["id"]: job_status(dict(row)) if job_status and row["job_id"] else None for row in stale}
        lost = []
        with self.db.transaction() as tx:
            for row in stale:
                verdict = verdicts[row["id"]]
                if verdict is not None and not verdict.done:
                    tx.execute("UPDATE executions SET lease_expires_at = :e WHERE id = :id AND status = 'running'"
                               " AND lease_expires_at < :t", {"e": t + job_grace(), "t": t, "id": row["id"]})
                    continue
                cur = tx.execute(
                    "UPDATE executions SET status = 'failed', failure = :f, lease_owner = NULL, lease_expires_at = NULL,"
                    " ended_at = :t, updated_at = :t WHERE id = :id AND status = 'running' AND lease_expires_at < :t",
                    {"f": dumps(_lost_failure(row, verdict)), "t": t, "id": row["id"]},
                )
                if cur.rowcount == 1:
                    lost.append(row["id"])
        return [row for i in lost if (row := self.get_execution(i)) is not None]

    def hold_lease(self, name: str, *, holder: str, ttl: float) -> bool:
        """Take or renew the named lease for `holder` (free, expired or already its own): which one of several
        server replicas runs a singleton task such as the reconciler. Compare-and-set in the database."""
        key, t = f"lease:{name}", now()
        mine = dumps({"holder": holder, "expires_at": t + ttl})
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO settings (key, value) VALUES (:k, :v) ON CONFLICT (key) DO NOTHING",
                       {"k": key, "v": mine})
            row = tx.execute("SELECT value FROM settings WHERE key = :k", {"k": key}).fetchone()
            current = to_dict(row)["value"] or {}
            if current.get("holder") != holder and float(current.get("expires_at") or 0) > t:
                return False  # another replica holds it
            cur = tx.execute("UPDATE settings SET value = :v WHERE key = :k AND value = :old",
                             {"v": mine, "k": key, "old": row["value"]})
            return bool(cur.rowcount == 1)

    def overdue_cancellations(self, grace: float) -> list[dict[str, Any]]:
        """Running executions with a dispatched job whose cancel was asked over `grace` seconds ago."""
        rows = self.db.query(
            "SELECT id, stack, orchestrator, job_id FROM executions WHERE status = 'running' AND cancel_requested = 1"
            " AND cancel_requested_at < :t AND job_id IS NOT NULL", {"t": now() - grace},
        )
        return [dict(r) for r in rows]

    def force_cancel(self, exec_id: str, *, reason: str) -> bool:
        """End a running execution whose cancel was asked but whose runner did not stop (its job was stopped)."""
        t = now()
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE executions SET status = 'cancelled', failure = :f, lease_owner = NULL, lease_expires_at = NULL,"
                " ended_at = :t, updated_at = :t WHERE id = :id AND status = 'running' AND cancel_requested = 1",
                {"f": dumps({"origin": "cancelled", "reason": "cancelled by user", "message": reason}), "t": t,
                 "id": exec_id},
            )
            if cur.rowcount == 1:
                tx.execute("UPDATE waits SET status = 'aborted' WHERE exec_id = :id AND status = 'pending'", {"id": exec_id})
            return bool(cur.rowcount == 1)

    def extend_running_leases(self, grace: float) -> int:
        """Give every running execution whose lease expired `grace` more seconds to renew it (after a server
        outage, when no runner could heartbeat); returns how many were extended."""
        t = now() + grace
        with self.db.transaction() as tx:
            return int(tx.execute("UPDATE executions SET lease_expires_at = :t WHERE status = 'running'"
                                  " AND lease_owner IS NOT NULL AND lease_expires_at < :t", {"t": t}).rowcount)

    def record_dispatch(self, exec_id: str, *, orchestrator: str, job_id: str) -> None:
        """Remember where an execution's latest runner was dispatched, so status, logs and cancel find the job."""
        with self.db.transaction() as tx:
            tx.execute("UPDATE executions SET orchestrator = :o, job_id = :j, dispatched_at = :t WHERE id = :id",
                       {"o": orchestrator, "j": job_id, "t": now(), "id": exec_id})

    def set_execution_metadata(self, exec_id: str, metadata: dict[str, Any]) -> None:
        """Merge `metadata` into the execution's metadata (kitaru.log in the flow body); bounded in size."""
        check_metadata(metadata)
        with self.db.transaction() as tx:
            row = tx.execute("SELECT metadata FROM executions WHERE id = :id", {"id": exec_id}).fetchone()
            merged = check_metadata({**(to_dict(row) or {}).get("metadata", {}), **metadata}, "execution metadata")
            tx.execute("UPDATE executions SET metadata = :m WHERE id = :id", {"m": dumps(merged), "id": exec_id})

    # ------------------------------------------------------------------- journal
    def load_journal(self, exec_id: str) -> list[dict[str, Any]]:
        """Every checkpoint call of an execution, in call order."""
        rows = self.db.query("SELECT * FROM checkpoint_calls WHERE exec_id = :id ORDER BY seq", {"id": exec_id})
        return [to_dict(r) for r in rows]

    def load_attempts(self, exec_id: str) -> list[dict[str, Any]]:
        """Every attempt of every checkpoint call of an execution."""
        rows = self.db.query(
            "SELECT * FROM checkpoint_attempts WHERE exec_id = :id ORDER BY started_at, attempt", {"id": exec_id}
        )
        return [to_dict(r) for r in rows]

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
        check_call(call)
        params = {**_CALL_DEFAULTS, **call, "t": call.get("started_at") or now(), "owner": owner,
                  "attempt": attempt or 1}
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

    def _upsert_call(self, tx: Any, p: dict[str, Any], status: str) -> int:
        """Write a call's outcome while `owner` holds the lease; a completed call is never rewritten (0 rows)."""
        return int(tx.execute(
            "INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts, input_hash,"
            " input_preview, cache_key, output, error, metadata, started_at, ended_at)"
            " SELECT id, :invocation_id, CAST(:seq AS INTEGER), :name, :type, :status, CAST(:attempt AS INTEGER),"
            " :input_hash, :input_preview, :cache_key, :output, :error, :metadata, CAST(:started AS FLOAT),"
            " CAST(:ended AS FLOAT) FROM executions WHERE id = :exec_id AND lease_owner = :owner AND status = 'running'"
            " ON CONFLICT (exec_id, invocation_id) DO UPDATE SET status = excluded.status,"
            " attempts = excluded.attempts, output = excluded.output, error = excluded.error,"
            " metadata = excluded.metadata, started_at = excluded.started_at, ended_at = excluded.ended_at"
            " WHERE checkpoint_calls.status <> 'completed'",
            {**_CALL_DEFAULTS, **p, "status": status},
        ).rowcount)

    def complete_call(
        self, call: dict[str, Any], attempt: int, *, owner: str, output: dict[str, Any],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Commit a completed call and its attempt in one transaction (the output bytes are already stored).

        Fenced by the lease: a runner that lost its lease gets LeaseLost and records nothing. A completed
        call's record is final: the same commit retried is a no-op, any other is refused (KitaruStateError).
        """
        check_call(call)
        check_metadata(metadata, "checkpoint metadata")
        t = now()
        p = {**call, "attempt": attempt, "owner": owner, "t": t, "ended": t, "started": call.get("started_at") or t,
             "output": dumps(output), "metadata": dumps(metadata or {}), "error": None}
        with self.db.transaction() as tx:
            if self._upsert_call(tx, p, "completed") != 1:
                self._refuse(tx, p, completing=True)
                return
            self._end_attempt(tx, p, "completed")

    def fail_call(
        self, call: dict[str, Any], attempt: int, *, owner: str, error: dict[str, Any], final: bool,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Record a failed attempt; `final` marks the call itself failed (no retries left).

        Fenced like `complete_call`: LeaseLost without the lease; a completed call never becomes failed.
        """
        check_call(call)
        check_metadata(metadata, "checkpoint metadata")
        check_metadata(error, "checkpoint error")
        t = now()
        p = {**call, "attempt": attempt, "owner": owner, "t": t, "ended": t if final else None,
             "started": call.get("started_at") or t, "output": None, "metadata": dumps(metadata or {}),
             "error": dumps(error)}
        with self.db.transaction() as tx:
            if self._upsert_call(tx, p, "failed" if final else "running") != 1:
                self._refuse(tx, p, completing=False)
            self._end_attempt(tx, p, "failed")

    @staticmethod
    def _refuse(tx: Any, p: dict[str, Any], *, completing: bool) -> None:
        """After a fenced write changed nothing: return for a retried commit, else raise why."""
        held = tx.execute("SELECT 1 FROM executions WHERE id = :exec_id AND lease_owner = :owner"
                          " AND status = 'running'", p).fetchone() is not None
        row = tx.execute("SELECT attempts FROM checkpoint_calls WHERE exec_id = :exec_id"
                         " AND invocation_id = :invocation_id", p).fetchone()
        error = refused_journal_write(p["exec_id"], p["invocation_id"], attempt=int(p["attempt"]), lease_held=held,
                                      recorded_attempts=None if row is None else int(row[0]), completing=completing)
        if error is not None:
            raise error

    def record_reused_call(self, call: dict[str, Any], *, owner: str) -> None:
        """Record a completed call whose output came from the cross-execution cache."""
        check_call(call)
        t = now()
        with self.db.transaction() as tx:
            ex = tx.execute("SELECT lease_owner, status FROM executions WHERE id = :exec_id", call).fetchone()
            if ex is None or ex["lease_owner"] != owner or ex["status"] != "running":
                raise LeaseLost(call["exec_id"])
            tx.execute(
                "INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts, input_hash,"
                " input_preview, output, cache_key, reused_from, metadata, started_at, ended_at)"
                " VALUES (:exec_id, :invocation_id, :seq, :name, :type, 'completed', 0, :input_hash, :input_preview,"
                " :output, :cache_key, :reused_from, :metadata, :t, :t)",
                {**call, "output": dumps(call["output"]), "metadata": dumps(call.get("metadata") or {}), "t": t},
            )

    def cache_index(self, flow_name: str) -> frozenset[str] | None:
        """Prefixes (`CACHE_PREFIX` characters) of the cache keys a flow's checkpoints may hit, so that a runtime
        skips lookups that cannot hit; None means "look every key up" (the embedded store answers each lookup
        locally, as cheaply as an index could)."""
        return None

    def cached_key_prefixes(self, flow_name: str, *, owner_id: str, limit: int = 20_000) -> list[str] | None:
        """The distinct key prefixes of `owner_id`'s completed, cached calls in executions of `flow_name` (what a
        server sends as a cache index); None when there are more than `limit`."""
        rows = self.db.query(
            f"SELECT DISTINCT substr(c.cache_key, 1, {CACHE_PREFIX}) AS p FROM checkpoint_calls c"
            " JOIN executions e ON e.id = c.exec_id WHERE e.flow_name = :f AND e.owner_id = :o"
            " AND c.status = 'completed' AND c.cache_key IS NOT NULL LIMIT :n",
            {"f": flow_name, "o": owner_id, "n": limit + 1},
        )
        return None if len(rows) > limit else [row["p"] for row in rows]

    def find_cached_output(self, cache_key: str, *, owner_id: str | None = None) -> dict[str, Any] | None:
        """The newest completed call with this cache key (code + inputs hash), if any; with `owner_id`, only
        among that principal's executions (a server never hands one user's outputs to another)."""
        scoped = "" if owner_id is None else " JOIN executions e ON e.id = c.exec_id AND e.owner_id = :o"
        rows = self.db.query(
            f"SELECT c.exec_id, c.output FROM checkpoint_calls c{scoped} WHERE c.cache_key = :k"
            " AND c.status = 'completed' ORDER BY c.ended_at DESC LIMIT 1",
            {"k": cache_key, "o": owner_id},
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
        check_name(wait.get("exec_id"), "execution id", max_length=ID_MAX)
        check_name(wait.get("invocation_id"), "wait id")
        check_name(wait.get("name"), "wait name")
        check_text(wait.get("question"), "question")
        check_metadata(wait.get("metadata"), "wait metadata")
        check_metadata(wait.get("schema"), "wait schema")
        t = now()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO waits (exec_id, invocation_id, name, question, schema, metadata, status, created_at)"
                " VALUES (:exec_id, :invocation_id, :name, :question, :schema, :metadata, 'pending', :t)"
                " ON CONFLICT (exec_id, invocation_id) DO NOTHING",
                {**wait, "schema": dumps(wait.get("schema")), "metadata": dumps(wait.get("metadata") or {}), "t": t},
            )
            stored: Mapping[str, Any] = tx.execute(
                "SELECT * FROM waits WHERE exec_id = :exec_id AND invocation_id = :invocation_id", wait
            ).fetchone()
        return to_dict(stored)

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
        return [to_dict(r) for r in rows]

    def resolve_wait(self, exec_id: str, invocation_id: str, *, status: str, answer: Any = None) -> bool:
        """Answer or abort a pending wait; False if it was not pending (someone else won)."""
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE waits SET status = :s, answer = :a, answered_at = :t"
                " WHERE exec_id = :e AND invocation_id = :i AND status = 'pending'",
                {"s": status, "a": dumps(answer), "t": now(), "e": exec_id, "i": invocation_id},
            )
            return bool(cur.rowcount == 1)

    # ---------------------------------------------------------------------- logs
    def append_logs(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append a batch of log entries in one transaction."""
        if not entries:
            return
        entries = clean_log_entries(entries)
        with self.db.transaction() as tx:
            tx.executemany(_INSERT_LOGS, entries)

    def append_logs_once(self, request_key: str, entries: Sequence[dict[str, Any]]) -> bool:
        """Append a batch unless a batch with `request_key` was stored already (the key and the lines commit
        together, so a retried request lands once); False if it was a repeat."""
        entries = clean_log_entries(entries)
        with self.db.transaction() as tx:
            claimed = tx.execute("INSERT INTO request_keys (key, created_at) VALUES (:k, :t)"
                                 " ON CONFLICT (key) DO NOTHING", {"k": request_key, "t": now()}).rowcount
            if claimed == 1 and entries:
                tx.executemany(_INSERT_LOGS, entries)
        return bool(claimed == 1)

    def forget_request_keys(self, older_than: float) -> int:
        """Drop idempotency keys older than `older_than` seconds (they matter only while a client may retry)."""
        with self.db.transaction() as tx:
            return int(tx.execute("DELETE FROM request_keys WHERE created_at < :t", {"t": now() - older_than}).rowcount)

    def query_logs(
        self, exec_id: str, *, invocation_id: str | None = None, after_id: int = 0, limit: int = 1000,
        wait: float = 0.0,
    ) -> list[dict[str, Any]]:
        """Log entries of an execution (optionally one checkpoint) after `after_id`, oldest first.

        `wait` > 0 polls (reads only) until a line arrives or the execution stops running, at most `wait` seconds.
        """
        where, params = ["exec_id = :e", "id > :a"], {"e": exec_id, "a": after_id, "n": limit}
        if invocation_id:
            where.append("invocation_id = :i")
            params["i"] = invocation_id
        sql = f"SELECT * FROM logs WHERE {' AND '.join(where)} ORDER BY id LIMIT :n"
        deadline = time.monotonic() + wait
        while True:
            rows = [to_dict(r) for r in self.db.query(sql, params)]
            if rows or time.monotonic() >= deadline:
                return rows
            row = self.get_execution(exec_id)
            if row is None or row["status"] != "running":
                return []  # nothing more comes until someone resumes it
            time.sleep(min(LOG_POLL_INTERVAL, max(0.0, deadline - time.monotonic())))

    # ----------------------------------------------------------------- artifacts
    def save_artifact(self, record: dict[str, Any]) -> None:
        """Record (or replace) a named artifact of an execution."""
        check_name(record.get("exec_id"), "execution id", max_length=ID_MAX)
        check_name(record.get("name"), "artifact name")
        check_name(record.get("type"), "artifact type", max_length=32)
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
        return [to_dict(r) for r in rows]

_LOST_UNRECORDED = ("status = 'running' AND lease_expires_at < :now"
                    " AND (orchestrator IS NULL OR orchestrator = 'local')")
"""SQL: a runner on this machine's kind of orchestrator stopped renewing its lease; the reconciler has not
recorded it yet (remote jobs wait for the reconciler, which asks their orchestrator first)."""


def as_read(row: dict[str, Any], t: float) -> dict[str, Any]:
    """An execution as reads report it: a local runner whose lease expired is failed ("runner lost")."""
    expires = row.get("lease_expires_at")
    if (row.get("status") != "running" or expires is None or expires >= t
            or row.get("orchestrator") not in (None, "local")):
        return row
    return {**row, "status": "failed", "failure": _lost_failure(row, None), "lease_owner": None,
            "lease_expires_at": None, "ended_at": expires}


def _lost_failure(row: Any, verdict: Any) -> dict[str, Any]:
    """Why a runner stopped: the backend's own reason when its job failed, else "runner lost"."""
    if verdict is not None and verdict.state == "failed":
        return {"origin": "infrastructure", "reason": "job failed",
                "message": f"{row['orchestrator']} job {row['job_id']} failed: {verdict.message or 'no reason given'};"
                           " fix the cause, then `kitaru executions retry`"}
    return {"origin": "runtime", "reason": "runner lost",
            "message": "the process running this execution stopped heartbeating (crashed or killed);"
                       " continue it with `kitaru executions retry`"}
def clean_log_entries(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Log entries as stored on every backend: ids checked, NULs replaced, lines bounded."""
    out = []
    for e in entries:
        check_name(e.get("exec_id"), "execution id", max_length=ID_MAX)
        if e.get("invocation_id") is not None:
            check_name(e["invocation_id"], "checkpoint id")
        out.append({**e, "message": clean_log_message(str(e.get("message", "")))})
    return out


class CancelRequested(Exception):
    """Raised at a checkpoint boundary when the execution was asked to cancel."""



def new_exec_id() -> str:
    """A new, globally unique execution id."""
    return uuid.uuid4().hex
