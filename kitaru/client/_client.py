"""`KitaruClient`: observe and act on executions (list, inspect, logs, input, replay, retry, cancel)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from typing import Any

from kitaru._status import ExecutionStatus
from kitaru.client import _convert
from kitaru.client._artifacts import ArtifactsAPI, artifacts_of
from kitaru.client._models import Execution, LogEntry, PendingWait
from kitaru.errors import KitaruBackendError, KitaruStateError, KitaruUsageError, KitaruWaitValidationError
from kitaru.runtime._recovery import owned_here
from kitaru.store import StateStore, is_remote

_MIN_PREFIX = 6
_PAGE = 200
LOG_SOURCES = ("step", "runner", "all", "orchestrator")


class ExecutionNotFoundError(KitaruBackendError, LookupError):
    """No execution has this id (or unique id prefix)."""


class NoMatchingExecutionError(KitaruUsageError, LookupError):
    """`executions.latest()` found no execution matching the filters."""


def parse_status(status: str | ExecutionStatus | None) -> ExecutionStatus | None:
    """A status filter, any case; a bad one is a KitaruUsageError listing the valid ones."""
    if status is None:
        return None
    try:
        return ExecutionStatus(status)
    except ValueError:
        raise KitaruUsageError(f"unknown execution status {status!r}; use one of "
                               f"{', '.join(s.value for s in ExecutionStatus)}") from None


class ExecutionsAPI:
    """`client.executions`: everything about executions."""

    def __init__(self, state: StateStore, client: KitaruClient | None = None) -> None:
        self._state = state
        self._client = client

    def _find(self, exec_id: str) -> dict[str, Any]:
        """The execution with this id, or with this unique prefix (>= 6 characters)."""
        row = self._state.get_execution(exec_id)
        if row is not None:
            return row
        if len(exec_id) >= _MIN_PREFIX:
            found = self._state.find_executions(exec_id, limit=2)
            hit = self._state.get_execution(found[0]) if len(found) == 1 else None
            if hit is not None:
                return hit
            if len(found) > 1:
                raise KitaruUsageError(f"execution id prefix {exec_id!r} is ambiguous; type more characters")
        raise ExecutionNotFoundError(
            f"execution {exec_id!r} does not exist; list executions with `kitaru executions list`")

    def _resolve_id(self, exec_id: str) -> str:
        return str(self._find(exec_id)["id"])

    def _row(self, exec_id: str) -> dict[str, Any]:
        return self._find(exec_id)  # a read: an expired lease reads as failed, nothing is written

    def _assemble(self, row: dict[str, Any], *, detail: bool) -> Execution:
        """An Execution with its checkpoint calls, pending waits and artifacts (attempts only in detail)."""
        exec_id = row["id"]
        attempts: dict[str, builtins.list[dict[str, Any]]] = {}
        if detail:
            for a in self._state.load_attempts(exec_id):
                attempts.setdefault(a["invocation_id"], []).append(a)
        journal = self._state.load_journal(exec_id)
        artifacts = artifacts_of(self._state, exec_id, journal)
        by_call: dict[str, builtins.list[Any]] = {}
        for ref in artifacts:
            if ref.checkpoint:
                by_call.setdefault(ref.checkpoint, []).append(ref)
        calls = [_convert.call(r, attempts.get(r["invocation_id"], []), by_call.get(r["invocation_id"]))
                 for r in journal]
        waits = [_convert.wait(w) for w in self._state.list_waits(exec_id, status="pending")]
        return _convert.execution(row, calls, waits, artifacts, client=self._client)

    def get(self, exec_id: str) -> Execution:
        """One execution with its checkpoint timeline, attempts, pending wait and artifacts.

        An unknown id raises KitaruBackendError (ExecutionNotFoundError, also a LookupError).
        """
        return self._assemble(self._row(exec_id), detail=True)

    def list(
        self, *, flow: str | None = None, status: str | ExecutionStatus | None = None, limit: int | None = None,
        page: int = 1,
    ) -> builtins.list[Execution]:
        """Executions, newest first; filter by flow name and status (any case); `limit=None` returns all.

        `page` (starts at 1, pages of `limit`) is this project's extra.
        """
        if (limit is not None and limit < 1) or page < 1:
            raise KitaruUsageError("limit and page must be >= 1")
        if page > 1 and limit is None:
            raise KitaruUsageError("page needs a limit (the page size)")
        wanted = parse_status(status)
        rows: builtins.list[dict[str, Any]] = []
        offset = (page - 1) * limit if limit else 0
        while limit is None or len(rows) < limit:
            size = _PAGE if limit is None else min(_PAGE, limit - len(rows))
            batch = self._state.list_executions(flow=flow, status=wanted.value if wanted else None, limit=size,
                                                offset=offset + len(rows))
            rows += batch
            if len(batch) < size:
                break
        return [self._assemble(r, detail=False) for r in rows]

    def latest(self, *, flow: str | None = None, status: str | ExecutionStatus | None = None) -> Execution:
        """The newest execution (of a flow, with a status); LookupError when none matches."""
        found = self.list(flow=flow, status=status, limit=1)
        if not found:
            raise NoMatchingExecutionError("no executions match; start one with `flow.run()` or `kitaru run`")
        return self.get(found[0].exec_id)

    def _log_filter(self, exec_id: str, checkpoint: str | None, source: str) -> tuple[str, set[str] | None,
                                                                                      dict[str, str]]:
        """Normalise `source`; map `checkpoint` (a function name or invocation id) to invocation ids."""
        source = (source or "").strip().lower()
        if source not in LOG_SOURCES:
            raise KitaruUsageError(f"unknown log source {source!r}; use one of {', '.join(LOG_SOURCES)}")
        if checkpoint and source in ("runner", "orchestrator"):
            raise KitaruUsageError(f"checkpoint= cannot be combined with source={source!r}: {source} logs are"
                                   " execution-level, not checkpoint-level")
        names = {c["invocation_id"]: c["name"] for c in self._state.load_journal(exec_id)}
        wanted = None
        if checkpoint:
            wanted = {inv for inv, name in names.items() if checkpoint in (inv, name)} or {checkpoint}
        return source, wanted, names

    def logs(
        self, exec_id: str, *, checkpoint: str | None = None, source: str = "step", limit: int | None = None,
        after: int = 0,
    ) -> builtins.list[LogEntry]:
        """Captured log lines, oldest first: at most `limit` (the first ones).

        `source`: "step" (lines written inside checkpoints), "runner" (the flow body and the runner) or
        "all" (this project's extra). `checkpoint` is a checkpoint function name or an invocation id;
        `after` (a LogEntry.id) is this project's extra for paging. "runner" and "all" start with what the
        orchestrator of a remote job reported before the runtime started (scheduling, image pulls, events:
        `source="orchestrator"` entries); `source="orchestrator"` gives only those.
        """
        if limit is not None and limit < 1:
            raise KitaruUsageError("limit must be >= 1")
        row = self._row(exec_id)
        source, wanted, names = self._log_filter(row["id"], checkpoint, source)
        out: builtins.list[LogEntry] = []
        if after == 0 and not checkpoint and source in ("runner", "all", "orchestrator"):
            out += self._job_lines(row)
        if source == "orchestrator":
            return out if limit is None else out[:limit]
        while limit is None or len(out) < limit:
            raw = self._state.query_logs(row["id"], invocation_id=next(iter(wanted)) if wanted and len(wanted) == 1
                                         else None, after_id=after, limit=1000)
            for r in raw:
                if _keep(r, source, wanted):
                    out.append(_convert.log(r, names))
            if len(raw) < 1000:
                break
            after = raw[-1]["id"]
        return out if limit is None else out[:limit]

    def _job_lines(self, row: dict[str, Any]) -> builtins.list[LogEntry]:
        """The orchestrator's own lines about a remote job (asked through the server, which holds the identity)."""
        server = self._state.server
        if server is None or not row.get("job_id") or row.get("orchestrator") in (None, "local"):
            return []
        raw = server.job_logs(row["id"])
        return [LogEntry(message=line, level="INFO", source="orchestrator", exec_id=row["id"], stream="orchestrator")
                for line in raw.get("lines") or []]

    def follow_logs(
        self, exec_id: str, *, checkpoint: str | None = None, source: str = "all", interval: float = 0.5,
        timeout: float | None = None, after: int = 0,
    ) -> Iterator[LogEntry]:
        """Yield log lines as they arrive until the execution stops running.

        Against a server this long-polls (one request waits for the next line); locally it polls
        the store every `interval` seconds.
        """
        row = self._row(exec_id)
        source, _, names = self._log_filter(row["id"], checkpoint, source)
        deadline = None if timeout is None else time.monotonic() + timeout
        long_poll = is_remote(self._state)  # a server holds the request open until a line arrives

        def matching(raw: builtins.list[dict[str, Any]]) -> Iterator[LogEntry]:
            if any(r["invocation_id"] and r["invocation_id"] not in names for r in raw):  # calls made meanwhile
                names.update({c["invocation_id"]: c["name"] for c in self._state.load_journal(row["id"])})
            wanted = {inv for inv, name in names.items() if checkpoint in (inv, name)} | {checkpoint} \
                if checkpoint else None
            return (_convert.log(r, names) for r in raw if _keep(r, source, wanted))

        seen_job: set[str] = set()
        job_lines = self._state.server is not None and not checkpoint and source in ("runner", "all", "orchestrator")
        while True:
            if job_lines:  # until the runtime writes its first line: what the orchestrator reports (pull, schedule)
                for entry in self._job_lines(self._row(row["id"])):
                    if entry.message not in seen_job:
                        seen_job.add(entry.message)
                        yield entry
                job_lines = after == 0 or source == "orchestrator"
            if long_poll and source != "orchestrator":
                wait = (2.0 if job_lines else 20.0) if deadline is None else max(
                    0.0, min(2.0 if job_lines else 20.0, deadline - time.monotonic()))
                raw = self._state.query_logs(row["id"], after_id=after, wait=wait)
            else:
                raw = self._state.query_logs(row["id"], after_id=after)
            if raw:
                after = raw[-1]["id"]
                yield from matching(raw)
                continue
            if self._row(row["id"])["status"] != "running":
                yield from matching(self._state.query_logs(row["id"], after_id=after))
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            if not long_poll or source == "orchestrator":
                time.sleep(interval)

    def pending_waits(self, exec_id: str | None = None) -> builtins.list[PendingWait]:
        """Waits that need an answer (of one execution, or all)."""
        resolved = self._resolve_id(exec_id) if exec_id else None
        return [_convert.wait(w) for w in self._state.list_waits(resolved, status="pending")]

    def _pick_wait(self, exec_id: str, wait: str | None) -> dict[str, Any]:
        pending = self._state.list_waits(exec_id, status="pending")
        if wait is None:
            if len(pending) == 1:
                return pending[0]
            if not pending:
                raise KitaruStateError(f"execution {exec_id} has no pending wait")
            raise KitaruUsageError(
                f"execution {exec_id} has several pending waits; pass wait= one of"
                f" {', '.join(w['invocation_id'] for w in pending)}"
            )
        for w in pending:
            if wait in (w["invocation_id"], w["name"]):
                return w
        raise KitaruStateError(f"execution {exec_id} has no pending wait {wait!r}; pending: "
                               f"{', '.join(w['invocation_id'] for w in pending) or 'none'}")

    def input(self, exec_id: str, *, wait: str | None = None, value: Any = None) -> Execution:
        """Answer a pending wait (validated against its schema) and resume the execution."""
        row = self._row(exec_id)
        target = self._pick_wait(row["id"], wait)
        validate_answer(target["schema"], value)
        if not self._state.resolve_wait(row["id"], target["invocation_id"], status="answered", answer=value):
            raise KitaruStateError(f"wait {target['invocation_id']!r} of execution {row['id']} was answered meanwhile")
        self._continue_if_waiting(row["id"])
        return self.get(row["id"])

    def abort_wait(self, exec_id: str, *, wait: str | None = None) -> Execution:
        """Abort a pending wait: the execution ends as cancelled when it reaches the wait again."""
        row = self._row(exec_id)
        target = self._pick_wait(row["id"], wait)
        self._state.resolve_wait(row["id"], target["invocation_id"], status="aborted")
        self._continue_if_waiting(row["id"])
        return self.get(row["id"])

    def _is_owner(self, row: dict[str, Any]) -> bool:
        """Whether this client started the execution (embedded: always): only then may it run its code here."""
        return owned_here(self._state, row)

    def continuation_note(self, exec_id: str) -> str | None:
        """Plain words on who continues an execution that this client did not start (None if it is ours)."""
        row = self._find(exec_id)
        if row["status"] not in ("waiting", "failed") or self._is_owner(row):
            return None
        who = row.get("owner_name") or row.get("owner_id")
        return (f"Execution {row['id']} was started by {who}, so it continues on {who}'s side, never on this machine:"
                f" {who}'s process still waiting for it picks it up, or {who} runs"
                f" `kitaru executions resume {row['id']}`.")

    def _request_continuation(self, row: dict[str, Any], action: str) -> None:
        """Record that someone other than the owner asked to continue the execution (the owner acts on it)."""
        me = self._state.server.me() if self._state.server is not None else {}
        self._state.set_execution_metadata(row["id"], {"continue_requested": {
            "by": me.get("name"), "action": action, "at": time.time()}})

    def _continue_if_waiting(self, exec_id: str) -> None:
        from kitaru.runtime._launch import claim_and_dispatch

        row = self._state.get_execution(exec_id)
        if row is not None and not self._is_owner(row):
            return  # the answer is recorded; the owner's side continues it (see continuation_note)
        current = self._state.get_execution(exec_id)
        if current is not None and current["status"] == "waiting":
            try:
                claim_and_dispatch(exec_id, ("waiting",))
            except KitaruStateError:
                pass  # the runner that is still polling (or another client) continues it

    def resume(self, exec_id: str) -> Execution:
        """Continue a waiting execution whose waits were answered, in a new runner."""
        from kitaru.runtime._launch import claim_and_dispatch

        row = self._row(exec_id)
        if row["status"] == "waiting" and self._state.list_waits(row["id"], status="pending"):
            raise KitaruStateError(
                f"execution {row['id']} is waiting for input; answer it with `kitaru executions input {row['id']}`"
            )
        answered = row["status"] != "failed" and bool(self._state.list_waits(row["id"], status="answered"))
        if row["status"] in ("running", "completed") and answered:
            return self.get(row["id"])  # `input` already resumed it (Kitaru 0.4 scripts call resume after input)
        if row["status"] not in ("waiting", "failed"):
            raise KitaruStateError(
                f"execution {row['id']} is {row['status']}; only waiting or failed executions resume")
        if not self._is_owner(row):
            from kitaru.runtime._launch import continue_on_server

            if not continue_on_server(row, self._state, ("waiting", "failed")):  # remote stacks: the server dispatches it
                self._request_continuation(row, "resume")
            return self.get(row["id"])
        try:
            claim_and_dispatch(row["id"], ("waiting", "failed"))
        except KitaruStateError:
            if not answered:
                raise
            # the runner that the answer started claimed it first: it is resumed, which is what was asked
        return self.get(row["id"])

    def retry(self, exec_id: str) -> Execution:
        """Continue a failed execution from its last completed checkpoint, in a new runner."""
        from kitaru.runtime._launch import claim_and_dispatch

        row = self._row(exec_id)
        if row["status"] != "failed":
            raise KitaruStateError(f"execution {row['id']} is {row['status']}; only failed executions can be retried")
        if not self._is_owner(row):
            from kitaru.runtime._launch import continue_on_server

            if not continue_on_server(row, self._state, ("failed",)):  # remote stacks: the server dispatches it
                self._request_continuation(row, "retry")
            return self.get(row["id"])
        claim_and_dispatch(row["id"], ("failed",))
        return self.get(row["id"])

    def replay(
        self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None = None, **inputs: Any
    ) -> Execution:
        """A new execution reusing outputs before `from_`; runs in a new runner process."""
        from kitaru.runtime._launch import replay

        new_id, _ = replay(self._resolve_id(exec_id), from_=from_, overrides=overrides, inputs=inputs, detach=True)
        return self.get(new_id)

    def cancel(self, exec_id: str) -> Execution:
        """Cancel: now if waiting or failed, at the next checkpoint boundary if running."""
        row = self._row(exec_id)
        self._state.request_cancel(row["id"])
        return self.get(row["id"])

    def wait(self, exec_id: str, *, timeout: float | None = None) -> Any:
        """Block until the execution ends; return its result or raise its typed error."""
        from kitaru.sdk._handle import FlowHandle

        return FlowHandle(self._resolve_id(exec_id), self._state).wait(timeout=timeout)


class KitaruClient:
    """The Python client: `client.executions`, `client.artifacts`, `client.memories`."""

    def __init__(self, state: StateStore | None = None) -> None:
        if state is None:
            from kitaru.store import current_state

            state = current_state()
        self._state = state
        self.executions = ExecutionsAPI(state, self)
        self.artifacts = ArtifactsAPI(state)
        from kitaru.memory._admin import MemoriesAPI

        self.memories = MemoriesAPI(state)


def validate_answer(schema: dict[str, Any] | None, value: Any) -> None:
    """Check an answer against a wait's JSON schema; raise KitaruWaitValidationError if it does not match."""
    if schema is None:
        return
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "answer"
        raise KitaruWaitValidationError(
            f"{where}: {first.message}; the wait expects {schema.get('type', 'a value matching its schema')}"
            " (nothing was recorded, the wait is still pending)"
        )


def _keep(row: dict[str, Any], source: str, wanted: set[str] | None) -> bool:
    """Whether a log row matches the source and checkpoint filters."""
    inv = row["invocation_id"]
    if source == "orchestrator" or source == "step" and not inv or source == "runner" and inv:
        return False
    return wanted is None or inv in wanted

