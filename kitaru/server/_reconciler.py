"""The server's reconciler loop: every few seconds, on the one replica that holds the `reconciler` lease in
the database, run the reconciler (kitaru/runtime/_reconcile.py: stop overdue cancelled jobs, ask
orchestrators about expired leases, record lost runners) and continue lost executions of remote stacks
that asked for automatic recovery. Local-stack executions are recovered by their owners' processes (their
code runs only there). Reads never do any of this.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

from kitaru.errors import KitaruError

log = logging.getLogger("kitaru.server.reconciler")


class ReconcilerLoop:
    """A daemon thread running `run_once` every `interval` seconds until stopped (not on the event loop)."""

    def __init__(self, ctx: Any, interval: float) -> None:
        self.ctx, self.interval = ctx, interval
        self.holder = f"server-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop (idempotent)."""
        if self._thread is None and self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="kitaru-reconciler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the loop and wait for a pass in progress (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def lifespan(self, inner: Any) -> Any:
        """The app's lifespan with this loop running while the app serves (wraps the existing one)."""
        import asyncio
        import contextlib

        @contextlib.asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            self.start()
            try:
                async with inner(app) as state:
                    yield state
            finally:
                await asyncio.to_thread(self.stop)

        return lifespan

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop; logged with traceback
                log.exception("reconciler pass failed; retrying in %.1f s", self.interval)

    def run_once(self) -> list[str]:
        """One pass if this replica leads; the ids of executions it found lost."""
        from kitaru.runtime._reconcile import reconcile

        if not self.ctx.state.hold_lease("reconciler", holder=self.holder, ttl=max(3 * self.interval, 5.0)):
            return []
        lost = reconcile(self.ctx.home, self.ctx.state)
        for row in lost:
            if (row.get("config") or {}).get("auto_recover"):
                self._recover(row)
        return [row["id"] for row in lost]

    def _recover(self, row: dict[str, Any]) -> None:
        """Continue a lost execution of a remote stack through its orchestrator (as its owner)."""
        from kitaru.server._continue import continue_remotely, remote_orchestrator

        try:
            orchestrator = remote_orchestrator(self.ctx, row)
            if orchestrator is not None:
                continue_remotely(self.ctx, row, orchestrator, ("failed",))
        except KitaruError as exc:  # claimed by someone else first, or the stack cannot run now
            log.warning("automatic recovery of execution %s did not start: %s", row["id"], exc)
