"""Logs: batched, idempotent append (Idempotency-Key), paged query, and follow by long-polling (`wait`)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from kitaru.server._deps import Ctx, Who, require_execution, require_runner
from kitaru.server._models import LogBatch
from kitaru.store.service import clean_log_entries

router = APIRouter(tags=["logs"])
ExecId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/executions/{exec_id}/logs", status_code=204)
async def append_logs(
    exec_id: ExecId, body: LogBatch, ctx: Ctx, who: Who,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Response:
    """Append a batch; a batch retried with the same Idempotency-Key is stored once."""
    require_runner(ctx, who, exec_id)
    entries = clean_log_entries([{**e.model_dump(), "exec_id": exec_id} for e in body.entries])
    if not entries:
        return Response(status_code=204)
    if idempotency_key is None:
        ctx.state.append_logs(entries)
    else:
        ctx.state.append_logs_once(_request_key(exec_id, idempotency_key), entries)
    return Response(status_code=204)


def _request_key(exec_id: str, idempotency_key: str) -> str:
    return "logs:" + hashlib.sha256(f"{exec_id}\0{idempotency_key}".encode()).hexdigest()


LONG_POLL_MAX = 25.0
_POLL_EVERY = 0.2


@router.get("/executions/{exec_id}/logs")
async def query_logs(
    exec_id: ExecId, ctx: Ctx, who: Who,
    invocation_id: Annotated[str | None, Query(max_length=255)] = None,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    wait: Annotated[float, Query(ge=0, le=LONG_POLL_MAX, description="long-poll: hold the request up to this many"
                                 " seconds until a line arrives or the execution stops running")] = 0,
) -> list[dict[str, Any]]:
    """Log lines after `after_id`, oldest first; follow by repeating with the last id (and `wait` > 0)."""
    require_execution(who, exec_id)
    deadline = time.monotonic() + wait
    while True:
        rows: list[dict[str, Any]] = await run_in_threadpool(
            ctx.state.query_logs, exec_id, invocation_id=invocation_id, after_id=after_id, limit=limit)
        if rows or time.monotonic() >= deadline:
            return rows
        row = await run_in_threadpool(ctx.state.get_execution, exec_id)
        if row is None or row["status"] != "running":
            return rows  # nothing more will come until someone resumes it
        await asyncio.sleep(min(_POLL_EVERY, max(0.0, deadline - time.monotonic())))
