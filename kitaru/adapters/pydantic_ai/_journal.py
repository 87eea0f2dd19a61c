"""Journaling one async agent operation (model request, tool call) as a durable step of the running flow.

The operation runs on the agent's event loop first; then its outcome is committed through the runtime's
`run_step` (bytes first, then the journal record), so a completed operation never runs again in that execution.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kitaru.runtime._context import ExecutionContext, checkpoint_metadata, current_checkpoint, current_context

Describe = Callable[[dict[str, Any], str, Any, float], None]


@dataclass
class RunRecorder:
    """What one agent run did: its journaled step ids, counts and whether anything was replayed."""

    model_steps: list[str] = field(default_factory=list)
    tool_steps: list[str] = field(default_factory=list)
    replayed: int = 0
    streamed: int = 0


def journaling_context() -> ExecutionContext | None:
    """The execution to journal into: only from a flow body (inside a checkpoint, that checkpoint is the unit)."""
    ctx = current_context()
    return ctx if ctx is not None and current_checkpoint() is None else None


def next_model_id(ctx: ExecutionContext, agent: str) -> str:
    """`<agent>_model_<n>`: the n-th model request of this agent in the execution (deterministic on re-run)."""
    key = f"\0pydantic-ai-model:{agent}"
    with ctx.lock:
        n = ctx.name_counts.get(key, 0) + 1
        ctx.name_counts[key] = n
    return f"{agent}_model_{n}"


async def durable_call(
    *,
    name: str,
    explicit_id: str | None,
    step_type: str,
    inputs: tuple[Any, ...],
    compute: Callable[[], Awaitable[Any]],
    encode: Callable[[Any], Any],
    decode: Callable[[Any], Any],
    describe: Describe,
    recorder: RunRecorder | None,
    kind: str,
) -> Any:
    """Return the recorded outcome of this call if the journal has one, else run it and record it.

    `describe(metadata, invocation_id, value, latency_ms)` fills the step's metadata (and may save artifacts).
    Outside a flow the call just runs; inside a checkpoint it runs and is described on that checkpoint.
    """
    from kitaru.runtime._steps import StepSpec, load_output, run_step

    ctx = current_context()
    if ctx is None:
        return await compute()
    if current_checkpoint() is not None:
        started = time.perf_counter()
        inside = await compute()
        md = checkpoint_metadata()
        if md is not None:
            calls = md.setdefault("pydantic_ai_calls", {})
            call_id, n = explicit_id, 1
            while call_id is None or call_id in calls:
                call_id, n = f"{name}_{n}", n + 1
            describe(md, call_id, inside, (time.perf_counter() - started) * 1000)
        return inside
    ctx.boundary()
    inv, seq, rec = ctx.assign(name, explicit_id, step_type)
    if recorder is not None:
        (recorder.model_steps if kind == "model" else recorder.tool_steps).append(inv)
    if rec is not None and rec["status"] == "completed":
        if recorder is not None:
            recorder.replayed += 1
        return decode(load_output(ctx, rec["output"]))
    _track_in_flight(ctx, name, step_type, inv, seq, rec, inputs)
    started = time.perf_counter()
    error: BaseException | None = None
    value: Any = None
    try:
        value = await compute()
    except Exception as exc:  # noqa: BLE001 - recorded as the step's failure below, then raised to the agent
        error = exc
    latency_ms = (time.perf_counter() - started) * 1000

    def commit(*_args: Any, **_kwargs: Any) -> Any:
        md = checkpoint_metadata()
        if error is not None:
            if md is not None:
                md["pydantic_ai"] = {"kind": "model_request" if kind == "model" else "tool_call",
                                     "latency_ms": latency_ms}
            raise error
        if md is not None:
            describe(md, inv, value, latency_ms)
        return encode(value)

    run_step(ctx, StepSpec(name=name, fn=commit, type=step_type, cache=False), inputs, {},
             inv=inv, seq=seq, rec=rec)
    return value


def _track_in_flight(ctx: ExecutionContext, name: str, step_type: str, inv: str, seq: int,
                     rec: dict[str, Any] | None, inputs: tuple[Any, ...]) -> None:
    """Let the runner's heartbeat show a slow request as running while it is awaited (as for checkpoints)."""
    from kitaru.artifacts import hash_inputs

    input_hash, preview = hash_inputs(inputs, {})
    call = {"exec_id": ctx.exec_id, "invocation_id": inv, "seq": seq, "name": name, "type": step_type,
            "input_hash": input_hash, "input_preview": preview, "cache_key": None, "started_at": time.time()}
    ctx.track(inv, call, (int(rec["attempts"]) if rec is not None else 0) + 1)
