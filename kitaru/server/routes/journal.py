"""The checkpoint journal: calls and attempts (idempotent, lease-fenced writes) and the output cache.

The runtime's hot-path routes (`async def`: start/complete/fail a call, get/renew/boundary/finish an
execution, append logs) run their one short, indexed statement inline on the event loop: a thread-pool
hop costs more than the statement. Scale a server with `--workers`; everything else runs in threads.
Well-formed `calls/complete` requests are answered before they reach FastAPI (see `_fastlane.py`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from kitaru.server._deps import Ctx, Who, require_execution, require_row, require_runner
from kitaru.server._models import CompleteCall, FailCall, ReuseCall, StartCall

router = APIRouter(tags=["journal"])
ExecId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/executions/{exec_id}/calls")
def load_journal(exec_id: ExecId, ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """Every checkpoint call of an execution, in call order."""
    require_execution(who, exec_id)
    return ctx.state.load_journal(exec_id)


@router.get("/executions/{exec_id}/attempts")
def load_attempts(exec_id: ExecId, ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """Every attempt of every call of an execution."""
    require_execution(who, exec_id)
    return ctx.state.load_attempts(exec_id)


@router.post("/executions/{exec_id}/calls/start")
async def start_call(exec_id: ExecId, body: StartCall, ctx: Ctx, who: Who) -> dict[str, int]:
    """Mark a call running (fenced by the lease); returns the attempt number."""
    require_runner(ctx, who, exec_id)
    return {"attempt": ctx.state.start_call(body.call.record(exec_id), owner=body.owner, attempt=body.attempt)}


@router.post("/executions/{exec_id}/calls/complete", status_code=204)
async def complete_call(exec_id: ExecId, body: CompleteCall, ctx: Ctx, who: Who) -> Response:
    """Commit a completed call and its attempt (an upsert: retrying it never duplicates a record)."""
    require_runner(ctx, who, exec_id)
    ctx.state.complete_call(body.call.record(exec_id), body.attempt, owner=body.owner, output=body.output,
                            metadata=body.metadata)
    return Response(status_code=204)


@router.post("/executions/{exec_id}/calls/fail", status_code=204)
async def fail_call(exec_id: ExecId, body: FailCall, ctx: Ctx, who: Who) -> Response:
    """Record a failed attempt (final: the call failed); fenced by the lease, never on a completed call."""
    require_runner(ctx, who, exec_id)
    ctx.state.fail_call(body.call.record(exec_id), body.attempt, owner=body.owner, error=body.error,
                        final=body.final, metadata=body.metadata)
    return Response(status_code=204)


@router.post("/executions/{exec_id}/calls/reuse", status_code=204)
def record_reused_call(exec_id: ExecId, body: ReuseCall, ctx: Ctx, who: Who) -> Response:
    """Record a call whose output came from the cross-execution cache."""
    require_runner(ctx, who, exec_id)
    ctx.state.record_reused_call(body.call.record(exec_id), owner=body.owner)
    return Response(status_code=204)


@router.get("/cache")
def cache_index(flow: Annotated[str, Query(min_length=1, max_length=255)], ctx: Ctx, who: Who) -> dict[str, Any]:
    """The key prefixes of the caller's completed, cached calls in executions of `flow` (a runtime token: its
    execution owner's): a runtime looks up only keys that may hit. `complete` is false when there are too many
    to send, and the runtime then looks up every key."""
    prefixes = ctx.state.cached_key_prefixes(flow, owner_id=who.sub)
    return {"complete": prefixes is not None, "prefixes": prefixes or []}


@router.get("/cache/{cache_key}")
def find_cached_output(cache_key: Annotated[str, Path(min_length=1, max_length=64)], ctx: Ctx, who: Who) -> dict[str, Any]:
    """The caller's newest completed output with this cache key (404 if none): a runtime token finds its
    execution owner's outputs, a user its own; never another principal's."""
    return require_row(ctx.state.find_cached_output(cache_key, owner_id=who.sub), "cache entry")
