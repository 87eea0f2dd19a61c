"""Isolated checkpoint jobs of a running execution: its runtime asks, the server dispatches.

A runtime never holds dispatch credentials, so the server submits each isolated checkpoint call of a
remote stack through the stack's orchestrator (with a fresh runtime token of the same execution), and
answers status and cancel for the handles it issued (an HMAC over execution and job id: a runtime can
neither ask about nor stop another execution's jobs).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from kitaru.server._deps import Ctx, Who, require_execution, require_row
from kitaru.server._errors import ApiError, forbidden
from kitaru.server._models import CheckpointJobBody

router = APIRouter(tags=["executions"])
ExecId = Annotated[str, Path(min_length=1, max_length=64)]
Handle = Annotated[str, Query(min_length=3, max_length=400)]


def _mac(key: bytes, exec_id: str, job_id: str) -> str:
    return hmac.new(key, f"checkpoint-job\0{exec_id}\0{job_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _runtime_of(who: Any, exec_id: str) -> None:
    if not who.is_runtime or who.exec != exec_id:
        raise forbidden(f"only the runtime of execution {exec_id} may submit or follow its checkpoint jobs")


def _job_of(ctx: Any, exec_id: str, handle: str) -> tuple[Any, str]:
    """The stack's orchestrator and the job id behind a handle this server issued for `exec_id`."""
    from kitaru.server._continue import remote_orchestrator

    job_id, _, mac = handle.rpartition("|")
    if not job_id or not hmac.compare_digest(mac, _mac(ctx.signing_key, exec_id, job_id)):
        raise forbidden(f"not a checkpoint job handle of execution {exec_id}")
    row = require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    orchestrator = remote_orchestrator(ctx, row)
    if orchestrator is None:
        raise ApiError(409, "NotSupported", f"execution {exec_id} no longer runs on a remote stack")
    return orchestrator, job_id


@router.post("/executions/{exec_id}/jobs", status_code=201)
def submit_checkpoint_job(exec_id: ExecId, body: CheckpointJobBody, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Dispatch one attempt of an isolated checkpoint through the stack's orchestrator (runtime, lease holder)."""
    from kitaru.server._continue import remote_orchestrator, submit_checkpoint

    _runtime_of(who, exec_id)
    if not body.result.startswith(f"executions/{exec_id}/isolated/") or ".." in body.result.split("/"):
        raise ApiError(422, "InvalidValue", f"a checkpoint job reports under 'executions/{exec_id}/isolated/'")
    ctx.state.check_boundary(exec_id, owner=body.owner)  # a runner that lost its lease (or was cancelled) stops
    row = require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    orchestrator = remote_orchestrator(ctx, row)
    if orchestrator is None:
        raise ApiError(409, "NotSupported", f"execution {exec_id} runs on a local stack: its runner submits its"
                       " isolated checkpoints to the local orchestrator itself")
    job_id = submit_checkpoint(ctx, row, orchestrator, body.model_dump())
    return {"job_id": job_id, "handle": f"{job_id}|{_mac(ctx.signing_key, exec_id, job_id)}"}


@router.get("/executions/{exec_id}/jobs")
def checkpoint_job_status(exec_id: ExecId, handle: Handle, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Where a checkpoint job is: pending, running, succeeded, failed or cancelled, with the backend's reason."""
    _runtime_of(who, exec_id)
    orchestrator, job_id = _job_of(ctx, exec_id, handle)
    status = orchestrator.status(job_id)
    return {"state": status.state, "message": status.message, "exit_code": status.exit_code}


@router.delete("/executions/{exec_id}/jobs", status_code=204)
def cancel_checkpoint_job(exec_id: ExecId, handle: Handle, ctx: Ctx, who: Who) -> Response:
    """Stop a checkpoint job (its runner stopped waiting for it)."""
    _runtime_of(who, exec_id)
    orchestrator, job_id = _job_of(ctx, exec_id, handle)
    orchestrator.cancel(job_id)
    return Response(status_code=204)


JOB_LOG_LINES = 500


@router.get("/executions/{exec_id}/job-logs")
def job_logs(exec_id: ExecId, ctx: Ctx, who: Who) -> dict[str, Any]:
    """What the orchestrator itself reports about the execution's latest job (scheduling, image pulls, events,
    why it never started): its lines that start with `[<flavor>]`, at most 500. The runtime's own output is
    in `/logs`; these are the lines from before it started, which no runtime could capture."""
    require_execution(who, exec_id)
    from kitaru.server._continue import remote_orchestrator

    row = require_row(ctx.state.get_execution(exec_id), f"execution {exec_id}")
    out: dict[str, Any] = {"orchestrator": row.get("orchestrator"), "job_id": row.get("job_id"), "lines": []}
    if not row.get("job_id") or row.get("orchestrator") in (None, "local"):
        return out
    orchestrator = remote_orchestrator(ctx, row)
    if orchestrator is None or orchestrator.flavor != row["orchestrator"]:
        return out
    prefix = f"[{orchestrator.flavor}]"
    try:
        for line in orchestrator.logs(row["job_id"]):
            if line.startswith(prefix):
                out["lines"].append(line[:2000])
                if len(out["lines"]) >= JOB_LOG_LINES:
                    break
    except Exception as exc:  # noqa: BLE001 - the backend's answer is a courtesy: say why it is missing
        out["lines"].append(f"{prefix} cannot read job {row['job_id']}: {exc}"[:2000])
    return out
