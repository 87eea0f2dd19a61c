"""Continuations on remote stacks: the server dispatches the runner that continues an execution.

An answered wait, a resume or a retry of an execution whose stack runs jobs remotely is continued
through that stack's orchestrator with the server's own identity, and the runner acts as the
execution's owner (a runtime token scoped to the execution). No client machine runs the code.
A replay of such an execution is created here too (from its shipped code archive, recorded inputs
and journal) and dispatched the same way, owned by whoever asked for it; the server never imports
the flow's code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from kitaru.server._errors import ApiError


def runs_remotely(ctx: Any, row: dict[str, Any]) -> bool:
    """Whether the execution's stack runs jobs elsewhere (so this server can continue it), from the stored
    spec only: cheap enough for every page render, without building the orchestrator."""
    from kitaru.plugins import get_plugin_manager
    from kitaru.stacks._service import stored_spec

    flavor = ((stored_spec(row["stack"], ctx.state) or {}).get("orchestrator") or {}).get("flavor", "local")
    if flavor == "local":
        return False
    known = get_plugin_manager().find_flavor("orchestrator", flavor)
    return known is not None and bool(known.remote)


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
    return dispatch_runner(row["id"], orchestrator=orchestrator, owner=lease_owner, home=ctx.home, state=ctx.state,
                           image=(row.get("flow_source") or {}).get("image"), server_env=runner_env(ctx, row, url))


def runner_token(ctx: Any, row: dict[str, Any]) -> str:
    """A token that acts only on this execution, as its owner (and for its stack's storage credentials)."""
    from kitaru.auth import runtime_token

    return runtime_token(row, ctx.signing_key, kid=None, origin=time.time())[0]


def runner_env(ctx: Any, row: dict[str, Any], url: str) -> dict[str, str]:
    """A runner's environment when this server dispatches it: where to reach the server (`url`) and a token
    scoped to its execution, never an API key."""
    return {"KITARU_SERVER_URL": url, "KITARU_AUTH_TOKEN": runner_token(ctx, row), "KITARU_API_KEY": ""}


def submit_checkpoint(ctx: Any, row: dict[str, Any], orchestrator: Any, job: dict[str, Any]) -> str:
    """Submit one isolated checkpoint attempt of a running execution; its job acts as the execution's runtime."""
    from kitaru.errors import KitaruError
    from kitaru.runtime._isolated import checkpoint_job_spec

    spec = checkpoint_job_spec(row["id"], job, remote=True, home=ctx.home, cwd=row["flow_source"].get("cwd"),
                               server_env=runner_env(ctx, row, public_url()), image=row["flow_source"].get("image"))
    try:
        return str(orchestrator.submit(spec))
    except KitaruError as exc:
        raise ApiError(502, "BackendError",
                       f"the {orchestrator.flavor} orchestrator refused the checkpoint job: {exc}") from exc


def replay_remotely(ctx: Any, source: dict[str, Any], who: Any, *, from_: str,
                    overrides: dict[str, Any] | None) -> dict[str, str]:
    """A new execution replaying `source` from checkpoint `from_` (outputs before it reused, `overrides`
    substituted), owned by `who`, dispatched through the stack's orchestrator; {exec_id, job_id}."""
    from kitaru.runtime._context import new_owner
    from kitaru.runtime._dispatch import dispatch_runner
    from kitaru.runtime._launch import _stored_config, dispatch_grace
    from kitaru.runtime._replay import plan_replay
    from kitaru.stacks import resolve_stack
    from kitaru.store import new_exec_id

    orchestrator = remote_orchestrator(ctx, source)
    if orchestrator is None:
        raise ApiError(409, "LocalStack", f"execution {source['id']} ran on the local stack {source['stack']!r}:"
                       f" replay it where the flow's code lives, with `kitaru executions replay {source['id']}"
                       f" --from CHECKPOINT`")
    if not (source.get("flow_source") or {}).get("code"):
        raise ApiError(409, "NoCode", f"execution {source['id']} has no shipped code archive to replay from;"
                       " replay it with the CLI where the flow's code lives")
    url = public_url()
    store = resolve_stack(source["stack"], home=ctx.home, state=ctx.state).artifact_store
    config = _stored_config(source)
    config = type(config).model_validate({**config.model_dump(), "cache": False})  # re-run, never reuse the cache
    calls, waits, point = plan_replay(source_exec_id=source["id"], journal=ctx.state.load_journal(source["id"]),
                                      waits=ctx.state.list_waits(source["id"], status=None), from_=from_,
                                      overrides=overrides, store=store)
    exec_id, lease_owner = new_exec_id(), new_owner()
    record = {"id": exec_id, "flow_name": source["flow_name"], "flow_source": source["flow_source"],
              "stack": source["stack"], "config": config.stored(), "inputs": source["inputs"],
              "original_exec_id": source["id"], "replay_from": point, "owner_id": who.sub, "owner_name": who.name}
    ctx.state.create_execution(record, owner=lease_owner, lease_ttl=max(config.lease_ttl, dispatch_grace()),
                               seed={"calls": calls, "waits": waits})
    job = dispatch_runner(exec_id, orchestrator=orchestrator, owner=lease_owner, home=ctx.home, state=ctx.state,
                          image=(source.get("flow_source") or {}).get("image"),
                          server_env=runner_env(ctx, ctx.state.get_execution(exec_id), url))
    return {"exec_id": exec_id, "job_id": job}
