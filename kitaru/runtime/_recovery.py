"""Crash recovery: executions whose runner died are marked failed ("runner lost"), and those
started with auto-recovery (KITARU_AUTO_RECOVER=1) are continued by a new runner process.

`sweep` runs only where a process acts on executions, never on a read: starting a flow (`.run()`),
a runner's heartbeat (embedded), and waiting for an execution (`wait()`). On a server the reconciler
loop (kitaru/server/_reconciler.py) does the same periodically."""

from __future__ import annotations

import time
from typing import Any

from kitaru.store import StateStore

_MIN_INTERVAL = 0.25
_last_sweep: dict[int, float] = {}


def owned_here(state: StateStore, row: dict[str, Any]) -> bool:
    """Whether this process acts as the execution's owner (embedded: always): only then may it run its code."""
    owner = row.get("owner_id")
    return owner is None or state.server is None or owner == state.server.me()["id"]


def sweep(state: StateStore, *, force: bool = False) -> list[str]:
    """Expire lost runners (cheap, rate-limited); return the ids that were auto-recovered."""
    t = time.monotonic()
    if not force and t - _last_sweep.get(id(state), 0.0) < _MIN_INTERVAL:
        return []
    _last_sweep[id(state)] = t
    from kitaru.store import StateService

    if isinstance(state, StateService):  # this process opens the database: it reconciles here
        from kitaru.config._paths import resolve_home
        from kitaru.runtime._reconcile import reconcile

        lost = reconcile(resolve_home(), state)
    else:
        lost = state.expire_lost_runners()  # the server asks the orchestrators
    recovered: list[str] = []
    for row in lost:
        if row and row["config"].get("auto_recover") and owned_here(state, row):  # never someone else's code
            from kitaru.errors import KitaruError
            from kitaru.runtime._launch import claim_and_dispatch

            try:
                claim_and_dispatch(row["id"], ("failed",))
                recovered.append(row["id"])
            except KitaruError as exc:  # another process recovered it first, or its stack cannot run here
                import logging

                logging.getLogger("kitaru.runtime").info("execution %s not recovered here: %s", row["id"], exc)
    return recovered
