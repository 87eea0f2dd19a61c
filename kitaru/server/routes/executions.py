"""Executions: create, list, get, claim, lease, finish, cancel, metadata, execution-scoped tokens."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from kitaru.auth import runtime_token
from kitaru.server._deps import (
    Ctx,
    Who,
    redact_lease,
    require_execution,
    require_owner,
    require_row,
    require_runner,
    require_user,
)
from kitaru.server._models import Claim, Continue, CreateExecution, Dispatch, Finish, Lease, Metadata, Replay

router = APIRouter(tags=["executions"])
ExecId = Annotated[str, Path(min_length=1, max_length=64)]


@router.post("/executions", status_code=201)
def create_execution(body: CreateExecution, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Create a running execution whose lease `owner` holds (retrying with the same id is a 409 Duplicate)."""
    require_user(who)
    seed = None
    if body.seed is not None:
        seed = {"calls": [c.model_dump(by_alias=True) for c in body.seed.calls],
                "waits": [w.model_dump(by_alias=True) for w in body.seed.waits]}
    record = {**body.record.model_dump(), "owner_id": who.sub, "owner_name": who.name}  # the caller owns it, always
    ctx.state.create_execution(record, owner=body.owner, lease_ttl=body.lease_ttl, seed=seed)
    return require_row(ctx.state.get_execution(body.record.id), "execution")


@router.get("/executions")
def list_executions(
    ctx: Ctx, who: Who,
    flow: Annotated[str | None, Query(max_length=255)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    before_created_at: float | None = None,
    before_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Newest first; page by offset or by the keyset cursor `before_created_at` + `before_id`."""
    require_user(who)
    before = (before_created_at, before_id) if before_created_at is not None and before_id is not None else None
    rows = ctx.state.list_executions(flow=flow, status=status, limit=limit, offset=offset, before=before)
    cursor = {"before_created_at": rows[-1]["created_at"], "before_id": rows[-1]["id"]} if len(rows) == limit else None
    return {"items": [redact_lease(who, row) for row in rows], "next": cursor}


@router.get("/execution-ids")
def find_executions(
    ctx: Ctx, who: Who, prefix: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[str]:
    """Execution ids starting with `prefix`."""
    require_user(who)
    return ctx.state.find_executions(prefix, limit=limit)


@router.post("/executions/expire-lost")
def expire_lost_runners(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """Reconcile: stop the jobs of overdue cancels, mark runners whose lease expired (and whose job is not
    pending or running) as failed; return those."""
    require_user(who)
    from kitaru.runtime._reconcile import reconcile

    return reconcile(ctx.home, ctx.state)


@router.get("/executions/{exec_id}")
async def get_execution(exec_id: ExecId, ctx: Ctx, who: Who) -> dict[str, Any]:
    """One execution."""
    require_execution(who, exec_id)
    return redact_lease(who, require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}"))


@router.post("/executions/{exec_id}/claim")
def claim_execution(exec_id: ExecId, body: Claim, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Take the lease of a waiting/failed (or abandoned running) execution: its owner or its own runtime.

    Whoever claims runs the flow's code, so nobody else's client may (the owner's process or
    `kitaru executions resume` continues it; anyone may answer its waits).
    """
    require_execution(who, exec_id)
    if not who.is_runtime:
        require_owner(ctx, who, require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}"),
                      "continue it (its code runs on the claimer's machine)")
    return ctx.state.claim_execution(exec_id, owner=body.owner, lease_ttl=body.lease_ttl, statuses=body.statuses)


@router.put("/executions/{exec_id}/lease")
async def renew_lease(exec_id: ExecId, body: Lease, ctx: Ctx, who: Who) -> dict[str, bool]:
    """Extend the lease; `renewed` is false if it was lost."""
    require_runner(ctx, who, exec_id)
    return {"renewed": ctx.state.renew_lease(exec_id, owner=body.owner, lease_ttl=body.lease_ttl)}


@router.post("/executions/{exec_id}/boundary", status_code=204)
async def check_boundary(exec_id: ExecId, body: Lease, ctx: Ctx, who: Who) -> Response:
    """204 if `owner` holds the lease and no cancel was requested; 409 LeaseLost / CancelRequested otherwise."""
    require_runner(ctx, who, exec_id)
    ctx.state.check_boundary(exec_id, owner=body.owner)
    return Response(status_code=204)


@router.post("/executions/{exec_id}/finish", status_code=204)
async def finish_execution(exec_id: ExecId, body: Finish, ctx: Ctx, who: Who) -> Response:
    """End this runner's turn (terminal, or waiting)."""
    require_runner(ctx, who, exec_id)
    ctx.state.finish_execution(exec_id, owner=body.owner, status=body.status, result=body.result, failure=body.failure)
    return Response(status_code=204)


@router.post("/executions/{exec_id}/cancel")
def request_cancel(exec_id: ExecId, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Cancel now (waiting/failed) or at the next checkpoint boundary (running)."""
    require_execution(who, exec_id)
    return ctx.state.request_cancel(exec_id)


@router.post("/executions/{exec_id}/continue")
def continue_execution(exec_id: ExecId, body: Continue, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Continue a waiting/failed execution of a remote stack: the server dispatches its runner through the stack's
    orchestrator, acting as the execution's owner (no client runs the code). `continued` is false for a local
    stack, whose owner's machine continues it."""
    require_execution(who, exec_id)
    require_user(who)
    from kitaru.server._continue import continue_remotely, remote_orchestrator

    row = require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    orchestrator = remote_orchestrator(ctx, row)
    if orchestrator is None:  # a local stack: its owner's machine continues it
        return {"continued": False, "reason": f"execution {exec_id} runs on a local stack; its owner continues it"
                                              f" with `kitaru executions resume {exec_id}`"}
    return {"continued": True, "job_id": continue_remotely(ctx, row, orchestrator, body.statuses)}


@router.post("/executions/{exec_id}/replay", status_code=201)
def replay_execution(exec_id: ExecId, body: Replay, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Replay an execution of a remote stack from a checkpoint, with overrides: the server creates the new
    execution (owned by the caller) and dispatches its runner through the stack's orchestrator, from the
    shipped code archive. 409 for a local stack (replay it where the flow's code lives)."""
    require_execution(who, exec_id)
    require_user(who)
    from kitaru.server._continue import replay_remotely

    row = require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    return replay_remotely(ctx, row, who, from_=body.from_, overrides=body.overrides)


@router.put("/executions/{exec_id}/dispatch", status_code=204)
def record_dispatch(exec_id: ExecId, body: Dispatch, ctx: Ctx, who: Who) -> Response:
    """Record the orchestrator job that runs the execution's latest runner."""
    require_runner(ctx, who, exec_id)
    require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    ctx.state.record_dispatch(exec_id, orchestrator=body.orchestrator, job_id=body.job_id)
    return Response(status_code=204)


@router.patch("/executions/{exec_id}/metadata", status_code=204)
def set_metadata(exec_id: ExecId, body: Metadata, ctx: Ctx, who: Who) -> Response:
    """Merge metadata into the execution (its runner's, or a request recorded by another user, e.g. a resume)."""
    require_execution(who, exec_id)
    require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    ctx.state.set_execution_metadata(exec_id, body.metadata)
    return Response(status_code=204)


@router.post("/executions/{exec_id}/token")
def execution_token(exec_id: ExecId, ctx: Ctx, who: Who) -> dict[str, Any]:
    """A token for a runtime that can act only on this execution, with its owner's rights (owner or admin)."""
    require_user(who)
    row = require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    require_owner(ctx, who, row, "mint a runtime token")
    row = {**row, "owner_id": row.get("owner_id") or who.sub}  # no owner recorded (older server): the admin's
    token, ttl = runtime_token(row, ctx.signing_key, kid=who.kid, origin=time.time())
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}
