"""Ask orchestrators about their jobs before a runner is declared lost (the reconciler's eyes).

Only remote orchestrators are consulted: a local job shares the machine with the sweeper, and its
heartbeat is the truth. A backend that cannot be asked (plugin missing, API unreachable) gives no
verdict, so the execution falls back to the lease: lost, and retryable.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruError
from kitaru.store.service import JobStatusLookup

log = logging.getLogger("kitaru.reconcile")


def job_status_via_stacks(home: Path, state: Any) -> JobStatusLookup:
    """A lookup that resolves each execution's stack and asks its orchestrator about the recorded job."""

    def lookup(row: dict[str, Any]) -> Any:
        from kitaru.stacks import resolve_stack

        try:
            orchestrator = resolve_stack(row["stack"], home=home, state=state).orchestrator
            if not orchestrator.remote or orchestrator.flavor != row["orchestrator"]:
                return None
            return orchestrator.status(row["job_id"])
        except (KitaruError, OSError) as exc:
            log.warning("cannot ask the %s orchestrator about job %s of execution %s: %s",
                        row["orchestrator"], row["job_id"], row["id"], exc)
            return None

    return lookup
