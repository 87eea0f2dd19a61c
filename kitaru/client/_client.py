"""`KitaruClient`: observe and act on executions (list, inspect, logs, input, replay, retry, cancel)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from typing import Any

from kitaru.client import _convert
from kitaru.client._models import ArtifactRef, Execution, ExecutionStatus, LogEntry, PendingWait
from kitaru.errors import KitaruStateError, KitaruUsageError, KitaruWaitValidationError
from kitaru.runtime._recovery import sweep
from kitaru.store import StateService, is_remote

_MIN_PREFIX = 6


class ExecutionsAPI:
    """`client.executions`: everything about executions."""

    def __init__(self, state: StateService) -> None:
        self._state = state

    def _find(self, exec_id: str) -> dict[str, Any]:
        """The execution with this id, or with this unique prefix (>= 6 characters)."""
        row = self._state.get_execution(exec_id)
        if row is not None:
            return row
        if len(exec_id) >= _MIN_PREFIX:
            found = self._state.find_executions(exec_id, limit=2)
            if len(found) == 1:
                return self._state.get_execution(found[0])  # type: ignore[return-value]
            if len(found) > 1:
                raise KitaruUsageError(f"execution id prefix {exec_id!r} is ambiguous; type more characters")
        raise KitaruUsageError(f"execution {exec_id!r} does not exist; list executions with `kitaru executions list`")

    def _resolve_id(self, exec_id: str) -> str:
        return str(self._find(exec_id)["id"])

    def _row(self, exec_id: str) -> dict[str, Any]:
        sweep(self._state)
        return self._find(exec_id)

    def get(self, exec_id: str) -> Execution:
        """One execution with its checkpoint timeline and pending waits."""
        row = self._row(exec_id)
        attempts: dict[str, builtins.list[dict[str, Any]]] = {}
        for a in self._state.load_attempts(row["id"]):
            attempts.setdefault(a["invocation_id"], []).append(a)
        calls = [_convert.call(r, attempts.get(r["invocation_id"], [])) for r in self._state.load_journal(row["id"])]
        waits = [_convert.wait(w) for w in self._state.list_waits(row["id"], status="pending")]
        return _convert.execution(row, calls, waits)

    def list(
        self, *, flow: str | None = None, status: str | ExecutionStatus | None = None, limit: int = 50, page: int = 1
    ) -> builtins.list[Execution]:
        """Executions, newest first; filter by flow name and status; `page` starts at 1."""
        if limit < 1 or page < 1:
            raise KitaruUsageError("limit and page must be >= 1")
        status_value = ExecutionStatus(status).value if status is not None else None
        sweep(self._state)
        rows = self._state.list_executions(flow=flow, status=status_value, limit=limit, offset=(page - 1) * limit)
        return [_convert.execution(r) for r in rows]

    def latest(self, *, flow: str | None = None, status: str | ExecutionStatus | None = None) -> Execution:
        """The newest execution (of a flow, with a status)."""
        found = self.list(flow=flow, status=status, limit=1)
        if not found:
            raise KitaruUsageError("no executions match; start one with `flow.run()` or `kitaru run`")
        return self.get(found[0].exec_id)

    def logs(
        self, exec_id: str, *, checkpoint: str | None = None, after: int = 0, limit: int = 1000
    ) -> builtins.list[LogEntry]:
        """Captured log lines of an execution (optionally one checkpoint), oldest first."""
        row = self._row(exec_id)
        return [_convert.log(r) for r in self._state.query_logs(row["id"], invocation_id=checkpoint, after_id=after,
                                                                limit=limit)]

    def follow_logs(
        self, exec_id: str, *, checkpoint: str | None = None, interval: float = 0.5, timeout: float | None = None
    ) -> Iterator[LogEntry]:
        """Yield log lines as they arrive until the execution ends (or stops waiting on us).

        Against a server this long-polls (one request waits for the next line); locally it polls
        the store every `interval` seconds.
        """
        row = self._row(exec_id)
        after, deadline = 0, None if timeout is None else time.monotonic() + timeout
        long_poll = is_remote(self._state)  # a server holds the request open until a line arrives
        while True:
            if long_poll:
                wait = 20.0 if deadline is None else max(0.0, min(20.0, deadline - time.monotonic()))
                raw = self._state.query_logs(row["id"], invocation_id=checkpoint, after_id=after, wait=wait)
                entries = [_convert.log(r) for r in raw]
            else:
                entries = self.logs(row["id"], checkpoint=checkpoint, after=after)
            yield from entries
            if entries:
                after = entries[-1].id
                continue
            status = self._row(row["id"])["status"]
            if status != "running":
                yield from self.logs(row["id"], checkpoint=checkpoint, after=after)
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            if not long_poll:
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

    def _continue_if_waiting(self, exec_id: str) -> None:
        from kitaru.runtime._launch import claim_and_dispatch

        if self._state.get_execution(exec_id)["status"] == "waiting":  # type: ignore[index]
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
            raise KitaruStateError(f"execution {row['id']} is {row['status']}; only waiting or failed executions resume")
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


class ArtifactsAPI:
    """`client.artifacts`: saved artifacts and checkpoint outputs."""

    def __init__(self, state: StateService) -> None:
        self._state = state

    def list(self, exec_id: str | None = None, *, name: str | None = None) -> builtins.list[ArtifactRef]:
        """Artifacts saved with `kitaru.save` (and, for one execution, its checkpoint outputs)."""
        out = [_convert.artifact(r["exec_id"], r["name"], r["type"], r["ref"], tags=r["tags"],
                                 checkpoint=r["invocation_id"], created_at=r["created_at"])
               for r in self._state.list_artifacts(exec_id, name)]
        if exec_id:
            out += [_convert.artifact(exec_id, c["invocation_id"], "checkpoint_output", c["output"],
                                      checkpoint=c["invocation_id"], created_at=c["ended_at"])
                    for c in self._state.load_journal(exec_id)
                    if c["status"] == "completed" and c["output"] and (name is None or name == c["invocation_id"])]
        return out

    def get(self, exec_id: str, name: str) -> ArtifactRef:
        """One artifact (or checkpoint output) by execution and name."""
        found = self.list(exec_id, name=name)
        if not found:
            raise KitaruUsageError(f"execution {exec_id} has no artifact {name!r}; list them with client.artifacts.list")
        return found[0]


class KitaruClient:
    """The Python client: `client.executions`, `client.artifacts`."""

    def __init__(self, state: StateService | None = None) -> None:
        if state is None:
            from kitaru.store import current_state

            state = current_state()
        self._state = state
        self.executions = ExecutionsAPI(state)
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
