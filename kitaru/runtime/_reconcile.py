"""The reconciler: asks orchestrators about their jobs before a runner is declared lost, and stops the
jobs of executions whose cooperative cancel did not take effect.

It runs wherever leases are swept: inside the server (for every connected client) and, embedded, in
the processes that use the store. Only remote orchestrators are consulted: a local job shares the
machine with the sweeper, and its heartbeat is the truth. A backend that cannot be asked (plugin
missing, API unreachable) gives no verdict, so the execution falls back to its lease: lost, retryable.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruError
from kitaru.store._protocol import JobStatusLookup, StateStore
from kitaru.store.service import StateService

log = logging.getLogger("kitaru.reconcile")


def cancel_grace() -> float:
    """Seconds a runner has to stop at a checkpoint boundary before its job is stopped (`KITARU_CANCEL_GRACE`)."""
    from kitaru.config._tunables import tunables

    return tunables().cancel_grace


def _remote_orchestrator(row: dict[str, Any], home: Path, state: StateStore) -> Any | None:
    from kitaru.stacks import resolve_stack

    orchestrator = resolve_stack(row["stack"], home=home, state=state).orchestrator
    if not orchestrator.remote or orchestrator.flavor != row["orchestrator"]:
        return None
    return orchestrator


def job_status_via_stacks(home: Path, state: StateStore) -> JobStatusLookup:
    """A lookup that resolves each execution's stack and asks its orchestrator about the recorded job."""

    def lookup(row: dict[str, Any]) -> Any:
        try:
            orchestrator = _remote_orchestrator(row, home, state)
            return None if orchestrator is None else orchestrator.status(row["job_id"])
        except (KitaruError, OSError) as exc:
            log.warning("cannot ask the %s orchestrator about job %s of execution %s: %s",
                        row["orchestrator"], row["job_id"], row["id"], exc)
            return None

    return lookup


def stop_overdue_cancellations(home: Path, state: StateService) -> list[str]:
    """Stop the jobs of executions still running `cancel_grace()` seconds after a cancel; mark them cancelled."""
    stopped = []
    for row in state.overdue_cancellations(cancel_grace()):
        try:
            orchestrator = _remote_orchestrator(row, home, state)
            if orchestrator is None:
                continue  # a local runner stops at its next boundary, or its lease expires
            orchestrator.cancel(row["job_id"])
        except (KitaruError, OSError) as exc:
            log.warning("cannot stop %s job %s of cancelled execution %s: %s", row["orchestrator"], row["job_id"],
                        row["id"], exc)
            continue
        if state.force_cancel(row["id"], reason=f"cancelled; its {row['orchestrator']} job {row['job_id']} was stopped"):
            stopped.append(row["id"])
    return stopped


def reconcile(home: Path, state: StateService) -> list[dict[str, Any]]:
    """One pass: stop overdue cancelled jobs, then expire lost runners; return the executions now failed."""
    stop_overdue_cancellations(home, state)
    lost: list[dict[str, Any]] = state.expire_lost_runners(job_status_via_stacks(home, state))
    return lost
