"""`StateStore`: the one contract of the state store (DESIGN.md §6), whatever is behind it.

Three implementations, one behaviour: `StateService` over the embedded SQLite file or any
SQLAlchemy database, `PgStateService` on the server's psycopg layer, and `RemoteStateService`
over HTTP to a Kitaru server. Everything outside the store (runtime, SDK, client, CLI, stacks)
types its state as `StateStore` and uses only these members; what only a server connection can
do (tokens for runners, brokered credentials, continuing on the server) is behind `server`,
which is None when the process talks to the database itself.

Shared rules: ids and names are validated the same way on every implementation (KitaruUsageError);
journal writes are fenced by the execution's lease (LeaseLost) and never move a record backwards
(KitaruStateError); a checkpoint boundary raises CancelRequested once a cancel was asked. Rows
are plain dicts with JSON columns decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

JobStatusLookup = Callable[[dict[str, Any]], Any]
"""Given an execution row (id, stack, orchestrator, job_id): its job's `JobStatus`, or None if unknown."""

Row = dict[str, Any]

RESUMABLE = ("waiting", "failed")
"""What a continuation claims by default: executions waiting for an answer or failed."""


@runtime_checkable
class ServerLink(Protocol):
    """What only a connection to a Kitaru server can do (`StateStore.server`)."""

    @property
    def url(self) -> str:
        """The server's base URL (runners dispatched from here report back to it)."""
        ...

    def me(self) -> Row:
        """Who this client is on the server: id, name, role."""
        ...

    def execution_token(self, exec_id: str) -> str:
        """A bearer token that acts for one execution only (what a dispatched runner gets)."""
        ...

    def continue_execution(self, exec_id: str, statuses: Sequence[str]) -> Row:
        """Ask the server to continue an execution of a remote stack; {"continued": bool, ...}."""
        ...

    def replay_execution(self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None) -> Row:
        """Have the server replay an execution of a remote stack from its shipped code; {"exec_id", "job_id"}."""
        ...

    def mint_credentials(self, stack: str, *, component: str = "artifact_store", access: str = "read",
                         scope: str = "", ttl: int = 900) -> Row:
        """Short-lived credentials for a stack component, brokered by the server."""
        ...

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call a route under /api/v1 that no store member covers (users, API keys); the decoded body."""
        ...

    def bearer_token(self) -> str | None:
        """The token this connection sends now (a runtime hands its own, execution-scoped, to its jobs)."""
        ...

    def submit_checkpoint_job(self, exec_id: str, *, owner: str, job: Row) -> str:
        """Have the server dispatch one isolated checkpoint attempt of a running execution; its job handle."""
        ...

    def checkpoint_job_status(self, exec_id: str, handle: str) -> Row:
        """The state of a checkpoint job the server dispatched: {"state", "message", "exit_code"}."""
        ...

    def cancel_checkpoint_job(self, exec_id: str, handle: str) -> None:
        """Stop a checkpoint job the server dispatched."""
        ...

    def job_logs(self, exec_id: str) -> Row:
        """The orchestrator's own lines about the execution's job: {"orchestrator", "job_id", "lines"}."""
        ...


@runtime_checkable
class StateStore(Protocol):
    """Executions, journal, waits, logs, artifacts, catalog and durable memory: the state store contract."""

    # ---------------------------------------------------------------- connection
    @property
    def server(self) -> ServerLink | None:
        """The server this store talks to (None: this process opens the database itself)."""
        ...

    def for_execution(self, exec_id: str) -> StateStore:
        """The store as one execution's runtime acts with it (on a server: an execution-scoped token)."""
        ...

    def close(self) -> None:
        """Release this thread's connection (the store stays usable: it reconnects on demand)."""
        ...

    # ---------------------------------------------------------------- executions
    def create_execution(self, record: Row, *, owner: str, lease_ttl: float, seed: Row | None = None) -> None:
        """Insert a running execution whose lease `owner` holds; `seed` pre-fills a replay's journal atomically."""
        ...

    def get_execution(self, exec_id: str) -> Row | None:
        """One execution, or None."""
        ...

    def find_executions(self, prefix: str, limit: int = 10) -> list[str]:
        """Execution ids starting with `prefix` (short ids typed by humans), newest first."""
        ...

    def list_executions(self, *, flow: str | None = None, status: str | None = None, limit: int = 50,
                        offset: int = 0, before: tuple[float, str] | None = None) -> list[Row]:
        """Newest first; filter by flow/status; page by offset or keyset (`before` = (created_at, id))."""
        ...

    def claim_execution(self, exec_id: str, *, owner: str, lease_ttl: float,
                        statuses: Sequence[str] = RESUMABLE) -> Row:
        """Take the lease of an execution in one of `statuses` (or whose lease expired); exactly one claimer wins,
        the others get KitaruStateError."""
        ...

    def renew_lease(self, exec_id: str, *, owner: str, lease_ttl: float) -> bool:
        """Extend `owner`'s lease; False if lost; CancelRequested (after renewing) when a cancel was asked."""
        ...

    def finish_execution(self, exec_id: str, *, owner: str, status: str, result: Row | None = None,
                         failure: Row | None = None) -> None:
        """End `owner`'s turn: completed/failed/cancelled, or waiting (released); LeaseLost without the lease."""
        ...

    def request_cancel(self, exec_id: str) -> Row:
        """Cancel: a waiting/failed execution ends now, a running one at its next checkpoint boundary."""
        ...

    def expire_lost_runners(self, job_status: JobStatusLookup | None = None) -> list[Row]:
        """Fail running executions whose lease expired (a server asks orchestrators itself); return them."""
        ...

    def record_dispatch(self, exec_id: str, *, orchestrator: str, job_id: str) -> None:
        """Remember where an execution's latest runner was dispatched."""
        ...

    def set_execution_metadata(self, exec_id: str, metadata: Row) -> None:
        """Merge `metadata` into the execution's metadata (bounded in size)."""
        ...

    # ------------------------------------------------------------------- journal
    def load_journal(self, exec_id: str) -> list[Row]:
        """Every checkpoint call of an execution, in call order."""
        ...

    def load_attempts(self, exec_id: str) -> list[Row]:
        """Every attempt of every checkpoint call of an execution."""
        ...

    def check_boundary(self, exec_id: str, *, owner: str) -> None:
        """A checkpoint boundary: LeaseLost if `owner` lost the lease, CancelRequested if asked to stop."""
        ...

    def start_call(self, call: Row, *, owner: str, attempt: int | None = None) -> int:
        """Mark a call running (attempt `attempt`, or the next one); return the attempt number."""
        ...

    def complete_call(self, call: Row, attempt: int, *, owner: str, output: Row,
                      metadata: Row | None = None) -> None:
        """Commit a completed call and its attempt atomically; a retried commit is a no-op, a rewrite refused."""
        ...

    def fail_call(self, call: Row, attempt: int, *, owner: str, error: Row, final: bool,
                  metadata: Row | None = None) -> None:
        """Record a failed attempt; `final` marks the call failed (a completed call never becomes failed)."""
        ...

    def record_reused_call(self, call: Row, *, owner: str) -> None:
        """Record a completed call whose output came from the cross-execution cache."""
        ...

    def cache_index(self, flow_name: str) -> frozenset[str] | None:
        """Prefixes (16 hex characters) of the cache keys this flow's checkpoints may hit, loaded once per runner
        turn so that misses cost no lookup; None means "look every key up"."""
        ...

    def find_cached_output(self, cache_key: str) -> Row | None:
        """The newest completed call with this cache key, if any (on a server: among the caller's own)."""
        ...

    # --------------------------------------------------------------------- waits
    def open_wait(self, wait: Row) -> Row:
        """Create the pending wait unless it exists; return the stored wait."""
        ...

    def get_wait(self, exec_id: str, invocation_id: str) -> Row | None:
        """One wait of an execution, or None."""
        ...

    def list_waits(self, exec_id: str | None = None, status: str | None = "pending") -> list[Row]:
        """Waits of one execution (or all), optionally only those with `status`."""
        ...

    def resolve_wait(self, exec_id: str, invocation_id: str, *, status: str, answer: Any = None) -> bool:
        """Answer or abort a pending wait; False if it was not pending (someone else won)."""
        ...

    # ---------------------------------------------------------------------- logs
    def append_logs(self, entries: Sequence[Row]) -> None:
        """Append a batch of log entries (ids checked, lines bounded, NULs replaced)."""
        ...

    def query_logs(self, exec_id: str, *, invocation_id: str | None = None, after_id: int = 0,
                   limit: int = 1000, wait: float = 0.0) -> list[Row]:
        """Log entries after `after_id`, oldest first; `wait` > 0 holds until a line arrives or the execution
        stops running, at most `wait` seconds."""
        ...

    # ----------------------------------------------------------------- artifacts
    def save_artifact(self, record: Row) -> None:
        """Record (or replace) a named artifact of an execution."""
        ...

    def list_artifacts(self, exec_id: str | None = None, name: str | None = None) -> list[Row]:
        """Artifacts, optionally of one execution and/or with one name, newest first."""
        ...

    # ------------------------------------------------------------------- catalog
    def get_setting(self, key: str) -> Any:
        """A JSON setting (e.g. the active stack), or None."""
        ...

    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON setting."""
        ...

    def put_secret(self, name: str, data: dict[str, str]) -> None:
        """Create or replace a secret (values encrypted at rest, write-only on a server)."""
        ...

    def get_secret(self, name: str) -> dict[str, str] | None:
        """A secret's values, or None; on a server only an execution's runtime may read them (KitaruContextError
        otherwise), and only secrets its stack or a model alias references."""
        ...

    def list_secrets(self) -> list[Row]:
        """Secret names and their keys (never values)."""
        ...

    def delete_secret(self, name: str) -> bool:
        """Delete a secret; False if it did not exist."""
        ...

    def put_model_alias(self, alias: str, model: str, secret: str | None, *, created_by: str | None = None) -> None:
        """Create or replace a model alias (`created_by`: who wrote it; a server records its caller itself)."""
        ...

    def list_model_aliases(self) -> list[Row]:
        """All model aliases, sorted by alias."""
        ...

    def put_stack(self, name: str, spec: Row) -> None:
        """Create or replace a stack composition."""
        ...

    def get_stack(self, name: str) -> Row | None:
        """One stack, or None."""
        ...

    def list_stacks(self) -> list[Row]:
        """All stacks, sorted by name."""
        ...

    def delete_stack(self, name: str) -> bool:
        """Delete a stack; False if it did not exist."""
        ...

    # -------------------------------------------------------------------- memory
    def memory_set(self, scope: str, key: str, ref: Row, *, scope_type: str = "namespace",
                   exec_id: str | None = None, actor: str | None = None) -> Row:
        """Append a new version of `key` holding the blob `ref`; return the entry (a server records the actor)."""
        ...

    def memory_delete(self, scope: str, key: str, *, exec_id: str | None = None,
                      actor: str | None = None) -> Row | None:
        """Append a tombstone to a live key; None if it was not live."""
        ...

    def memory_get(self, scope: str, key: str, version: int | None = None) -> Row | None:
        """The latest (or a given) version of a key, tombstones included; None if there is none."""
        ...

    def memory_list(self, scope: str, prefix: str | None = None, *, include_deleted: bool = False,
                    limit: int = 1000) -> list[Row]:
        """The latest version of each key in a scope, by key."""
        ...

    def memory_history(self, scope: str, key: str) -> list[Row]:
        """Every stored version of a key, newest first."""
        ...

    def memory_scopes(self) -> list[Row]:
        """Every scope with its type, key and version counts and last write."""
        ...

    def memory_purge(self, scope: str, key: str, *, keep: int = 1, actor: str | None = None) -> Row:
        """Hard-delete old versions of a key; return the audit record."""
        ...

    def memory_purge_scope(self, scope: str, *, keep: int = 1, actor: str | None = None) -> Row:
        """Hard-delete old versions of every key of a scope; return the audit record."""
        ...

    def memory_audit_log(self, scope: str | None = None, limit: int = 1000) -> list[Row]:
        """Purge audit records, newest first."""
        ...

    def memory_compact(self, scope: str, key: str, ref: Row, *, sources: list[Row], model: str | None = None,
                       scope_type: str = "namespace", actor: str | None = None) -> Row:
        """Write a compaction summary as a new version of `key` and log it; return the log record."""
        ...

    def memory_compaction_log(self, scope: str | None = None, limit: int = 1000) -> list[Row]:
        """Compaction records, newest first."""
        ...

    def memory_reindex(self) -> dict[str, int]:
        """Rebuild the latest-version index; key and scope counts."""
        ...


if TYPE_CHECKING:  # the static proof, checked by mypy on kitaru/ (and by tests/store/test_protocol.py)
    from kitaru.store._pg import PgStateService
    from kitaru.store._remote import RemoteStateService
    from kitaru.store.service import StateService

    def _every_implementation_is_a_state_store(
        embedded: StateService, pg: PgStateService, remote: RemoteStateService
    ) -> tuple[StateStore, StateStore, StateStore, ServerLink]:
        return embedded, pg, remote, remote
