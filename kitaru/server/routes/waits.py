"""Waits: open (idempotent), list, get, answer or abort."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from kitaru.server._deps import Ctx, Who, require_execution, require_row, require_runner, require_user
from kitaru.server._models import OpenWait, ResolveWait

router = APIRouter(tags=["waits"])
ExecId = Annotated[str, Path(min_length=1, max_length=64)]
Status = Literal["pending", "answered", "aborted", "any"]


@router.post("/executions/{exec_id}/waits")
def open_wait(exec_id: ExecId, body: OpenWait, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Create the pending wait unless it exists; return the stored wait."""
    require_runner(ctx, who, exec_id)
    require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    return ctx.state.open_wait({**body.model_dump(by_alias=True), "exec_id": exec_id})


@router.get("/executions/{exec_id}/waits")
def list_execution_waits(exec_id: ExecId, ctx: Ctx, who: Who, status: Status = "pending") -> list[dict[str, Any]]:
    """Waits of one execution (`status=any` for all)."""
    require_execution(who, exec_id)
    return ctx.state.list_waits(exec_id, status=None if status == "any" else status)


@router.get("/executions/{exec_id}/waits/{invocation_id:path}")
def get_wait(exec_id: ExecId, invocation_id: str, ctx: Ctx, who: Who) -> dict[str, Any]:
    """One wait by its invocation id."""
    require_execution(who, exec_id)
    return require_row(ctx.state.get_wait(exec_id, invocation_id), f"wait {invocation_id!r}")


@router.post("/executions/{exec_id}/waits/resolve")
def resolve_wait(exec_id: ExecId, body: ResolveWait, ctx: Ctx, who: Who) -> dict[str, bool]:
    """Answer or abort a pending wait; `resolved` is false if it was no longer pending."""
    require_execution(who, exec_id)
    resolved = ctx.state.resolve_wait(exec_id, body.invocation_id, status=body.status, answer=body.answer)
    if resolved:
        _continue_if_remote(ctx, exec_id)
    return {"resolved": resolved}


def _continue_if_remote(ctx: Any, exec_id: str) -> None:
    """An answered execution of a remote stack resumes at once: the server dispatches its runner."""
    from kitaru.errors import KitaruStateError
    from kitaru.server._continue import continue_remotely, remote_orchestrator

    row = ctx.state.get_execution(exec_id)
    if row is None or row["status"] != "waiting" or ctx.state.list_waits(exec_id, status="pending"):
        return  # still running (its runner polls for the answer) or more questions are open
    orchestrator = remote_orchestrator(ctx, row)
    if orchestrator is not None:
        try:
            continue_remotely(ctx, row, orchestrator, ("waiting",))
        except KitaruStateError:
            pass  # another answer or a resume dispatched it first


@router.get("/waits")
def list_waits(
    ctx: Ctx, who: Who, status: Status = "pending", exec_id: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    """Waits of all executions (or one), by creation time."""
    if exec_id is not None:
        require_execution(who, exec_id)
    else:
        require_user(who)
    return ctx.state.list_waits(exec_id, status=None if status == "any" else status)
