"""Artifact metadata (the bytes live in the artifact store; the server never touches them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from kitaru.server._deps import Ctx, Who, require_execution, require_runner, require_user
from kitaru.server._models import Artifact

router = APIRouter(tags=["artifacts"])
ExecId = Annotated[str, Path(min_length=1, max_length=64)]


@router.put("/executions/{exec_id}/artifacts", status_code=204)
def save_artifact(exec_id: ExecId, body: Artifact, ctx: Ctx, who: Who) -> Response:
    """Record (or replace) a named artifact of an execution."""
    require_runner(ctx, who, exec_id)
    ctx.state.save_artifact({**body.model_dump(), "exec_id": exec_id})
    return Response(status_code=204)


@router.get("/artifacts")
def list_artifacts(
    ctx: Ctx, who: Who,
    exec_id: Annotated[str | None, Query(max_length=64)] = None,
    name: Annotated[str | None, Query(max_length=255)] = None,
) -> list[dict[str, Any]]:
    """Artifacts, optionally of one execution and/or with one name, newest first."""
    if exec_id is not None:
        require_execution(who, exec_id)
    else:
        require_user(who)
    return ctx.state.list_artifacts(exec_id, name)
