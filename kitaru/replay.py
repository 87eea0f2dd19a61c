"""`kitaru.replay`: fork an execution from a checkpoint (Kitaru 0.4 module path).

`replay(exec_id, from_=..., overrides=..., **inputs)` is `KitaruClient().executions.replay`; the
planner (which recorded outputs a replay reuses) loads on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plan_replay", "replay"]


def replay(exec_id: str, *, from_: str, overrides: dict[str, Any] | None = None, **inputs: Any) -> Any:
    """Start a new execution that reuses `exec_id`'s outputs before checkpoint `from_`; returns the Execution."""
    from kitaru.client import KitaruClient

    return KitaruClient().executions.replay(exec_id, from_=from_, overrides=overrides, **inputs)


def __getattr__(name: str) -> Any:
    if name == "plan_replay":
        from kitaru.runtime._replay import plan_replay

        return plan_replay
    raise AttributeError(f"module 'kitaru.replay' has no attribute {name!r}")
