"""Continuations on remote stacks: the server dispatches the runner that continues an execution.

An answered wait, a resume or a retry of an execution whose stack runs jobs remotely is continued
through that stack's orchestrator with the server's own identity, and the runner acts as the
execution's owner (a runtime token scoped to the execution). No client machine runs the code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from kitaru.server._errors import ApiError


def remote_orchestrator(ctx: Any, row: dict[str, Any]) -> Any | None:
    """The stack's orchestrator if it runs jobs remotely; None for local stacks."""
    from kitaru.runtime._dispatch import stack_orchestrator

    orchestrator = stack_orchestrator(row["stack"], home=ctx.home, state=ctx.state)
    return orchestrator if orchestrator.remote else None


def public_url() -> str:
    """Where dispatched runners reach this server (`KITARU_SERVER_PUBLIC_URL`)."""
    url = os.environ.get("KITARU_SERVER_PUBLIC_URL")
    if not url:
        raise ApiError(409, "NotConfigured", "this server cannot dispatch runners: set KITARU_SERVER_PUBLIC_URL to the"
                       " URL runners reach it at (the Helm chart sets it to the in-cluster service)")
    return url


def continue_remotely(ctx: Any, row: dict[str, Any], orchestrator: Any, statuses: Sequence[str]) -> str:
    """Claim the execution and dispatch a runner for it through `orchestrator`; return the job id."""
    from kitaru.config._models import KitaruConfig
    from kitaru.runtime._context import new_owner
    from kitaru.runtime._dispatch import dispatch_runner
    from kitaru.runtime._launch import dispatch_grace

    url = public_url()
    lease_owner = new_owner()
    ttl = max(KitaruConfig.model_validate(row["config"]).lease_ttl, dispatch_grace())
    ctx.state.claim_execution(row["id"], owner=lease_owner, lease_ttl=ttl, statuses=statuses)
    token = runner_token(ctx, row)
    return dispatch_runner(row["id"], orchestrator=orchestrator, owner=lease_owner, home=ctx.home, state=ctx.state,
                           server_env={"KITARU_SERVER_URL": url, "KITARU_AUTH_TOKEN": token, "KITARU_API_KEY": ""})


def runner_token(ctx: Any, row: dict[str, Any]) -> str:
    """A token that acts only on this execution, as its owner (and for its stack's storage credentials)."""
    from kitaru.auth import runtime_token

    return runtime_token(row, ctx.signing_key, kid=None, origin=time.time())[0]


def submit_checkpoint(ctx: Any, row: dict[str, Any], orchestrator: Any, job: dict[str, Any]) -> str:
    """Submit one isolated checkpoint attempt of a running execution; its job acts as the execution's runtime."""
    from kitaru.errors import KitaruError
    from kitaru.runtime._isolated import checkpoint_job_spec

    env = {"KITARU_SERVER_URL": public_url(), "KITARU_AUTH_TOKEN": runner_token(ctx, row), "KITARU_API_KEY": ""}
    spec = checkpoint_job_spec(row["id"], job, remote=True, home=ctx.home, server_env=env,
                               cwd=row["flow_source"].get("cwd"))
    try:
        return str(orchestrator.submit(spec))
    except KitaruError as exc:
        raise ApiError(502, "BackendError",
                       f"the {orchestrator.flavor} orchestrator refused the checkpoint job: {exc}") from exc
