"""The durable runtime: execution context, journal replay, leases, log capture, runner."""

from __future__ import annotations


def _get_current_execution_id() -> str | None:
    """The id of the execution this code runs in, or None (Kitaru 0.4's examples import this name)."""
    from kitaru.runtime._context import current_context

    ctx = current_context()
    return ctx.exec_id if ctx is not None else None
