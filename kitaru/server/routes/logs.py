"""Logs: batched, idempotent append (Idempotency-Key) and paged query (follow by polling `after_id`)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from kitaru.server._deps import Ctx, Who, require_execution
from kitaru.server._models import LogBatch
from kitaru.store._rows import now

router = APIRouter(tags=["logs"])
ExecId = Annotated[str, Path(min_length=1, max_length=64)]
_INSERT = ("INSERT INTO logs (exec_id, invocation_id, ts, stream, level, message)"
           " VALUES (:exec_id, :invocation_id, :ts, :stream, :level, :message)")


@router.post("/executions/{exec_id}/logs", status_code=204)
async def append_logs(
    exec_id: ExecId, body: LogBatch, ctx: Ctx, who: Who,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Response:
    """Append a batch; a batch retried with the same Idempotency-Key is stored once."""
    require_execution(who, exec_id)
    entries = [{**e.model_dump(), "exec_id": exec_id} for e in body.entries]
    if not entries:
        return Response(status_code=204)
    if idempotency_key is None:
        ctx.state.append_logs(entries)
        return Response(status_code=204)
    with ctx.state.db.transaction() as tx:  # the key and the lines commit together
        claimed = tx.execute("INSERT INTO request_keys (key, created_at) VALUES (:k, :t) ON CONFLICT (key) DO NOTHING",
                             {"k": _request_key(exec_id, idempotency_key), "t": now()}).rowcount
        if claimed == 1:
            tx.executemany(_INSERT, entries)
    return Response(status_code=204)


def _request_key(exec_id: str, idempotency_key: str) -> str:
    return "logs:" + hashlib.sha256(f"{exec_id}\0{idempotency_key}".encode()).hexdigest()


@router.get("/executions/{exec_id}/logs")
def query_logs(
    exec_id: ExecId, ctx: Ctx, who: Who,
    invocation_id: Annotated[str | None, Query(max_length=255)] = None,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[dict[str, Any]]:
    """Log lines after `after_id`, oldest first (poll with the last id to follow)."""
    require_execution(who, exec_id)
    return ctx.state.query_logs(exec_id, invocation_id=invocation_id, after_id=after_id, limit=limit)
