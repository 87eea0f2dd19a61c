"""`FlowHandle`: follow one execution and fetch its result."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from kitaru._status import ExecutionStatus
from kitaru.errors import (
    KitaruDivergenceError,
    KitaruExecutionError,
    KitaruStateError,
    KitaruUserCodeError,
)

if TYPE_CHECKING:
    from kitaru.store import StateStore

_POLL = 0.1


class FlowHandle:
    """A started execution: `exec_id`, live `status`, `wait()` for the result, `get()` if done."""

    def __init__(self, exec_id: str, state: StateStore) -> None:
        self.exec_id = exec_id
        self._state = state

    def _row(self) -> dict[str, Any]:
        row = self._state.get_execution(self.exec_id)  # a read: nothing is written, no runner started
        if row is None:
            raise KitaruStateError(f"execution {self.exec_id} no longer exists")
        return row

    @property
    def status(self) -> ExecutionStatus:
        """An ExecutionStatus (a str: `handle.status == "completed"` works), read live from the store."""
        return ExecutionStatus(self._row()["status"])

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the execution ends; return its result or raise a typed error."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.02
        from kitaru.runtime._recovery import sweep

        while True:  # a waiter follows the flow: it runs the embedded reconciler (lost runners, auto-recovery)
            sweep(self._state)
            row = self._row()
            if row["status"] == "failed" and (row.get("config") or {}).get("auto_recover"):
                sweep(self._state, force=True)  # lost just now: let recovery take it before reporting failure
                row = self._row()
            if row["status"] in ("completed", "failed", "cancelled"):
                return _outcome(row)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"execution {self.exec_id} is still {row['status']} after {timeout}s")
            time.sleep(delay)
            delay = min(_POLL * 5, delay * 1.5)

    def get(self) -> Any:
        """The result if the execution ended; KitaruStateError while it runs or waits."""
        row = self._row()
        if row["status"] not in ("completed", "failed", "cancelled"):
            hint = (f"answer it with `kitaru executions input {self.exec_id}`" if row["status"] == "waiting"
                    else "call .wait() to block until it finishes")
            raise KitaruStateError(f"execution {self.exec_id} is {row['status']}; {hint}")
        return _outcome(row)

    def __repr__(self) -> str:
        return f"<FlowHandle {self.exec_id}>"


def _outcome(row: dict[str, Any]) -> Any:
    exec_id, status = row["id"], row["status"]
    if status == "completed":
        from kitaru.artifacts import get_value
        from kitaru.stacks import store_from_root

        ref = row["result"]
        return get_value(store_from_root(ref["store"]), ref)
    failure = row.get("failure") or {}
    origin = failure.get("origin", "runtime")
    message = failure.get("message") or failure.get("reason") or status
    if status == "cancelled":
        raise KitaruExecutionError(f"execution {exec_id} was cancelled ({failure.get('reason', 'cancelled')})",
                                   exec_id=exec_id, status=status, failure_origin="cancelled")
    if origin == "divergence":
        raise KitaruDivergenceError(message, exec_id=exec_id, status=status, failure_origin=origin)
    if origin == "user_code":
        where = f" in checkpoint {failure['checkpoint']!r}" if failure.get("checkpoint") else ""
        raise KitaruUserCodeError(
            f"execution {exec_id} failed{where}: {failure.get('type', 'Error').rsplit('.', 1)[-1]}: {message}."
            f" Fix the code and continue it with `kitaru executions retry {exec_id}`",
            exec_id=exec_id, status=status, failure_origin=origin,
        )
    raise KitaruExecutionError(
        f"execution {exec_id} failed ({failure.get('reason', origin)}): {message}",
        exec_id=exec_id, status=status, failure_origin=origin,
    )
