"""Start a runner for an execution through its stack's orchestrator (the one way runners start).

A detached `flow.run()`, replay, retry, resume, an answered wait and automatic recovery all come
here: the execution's stack names an orchestrator, which gets a `JobSpec` running `python -m
kitaru.runtime EXEC_ID`. The built-in `local` orchestrator runs it as a detached local process;
remote flavors (Kubernetes, Vertex AI, SageMaker) run it as a job. Where it went is recorded on the
execution, so status, logs and cancel find the job.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.plugins._protocols import JobSpec, Orchestrator

if TYPE_CHECKING:
    from kitaru.store import StateStore

RUNNER_COMMAND = (sys.executable, "-m", "kitaru.runtime")


def runner_command(remote: bool) -> tuple[str, ...]:
    """`python -m kitaru.runtime`: for local jobs this interpreter (or `KITARU_LOCAL_RUNNER_COMMAND`); for
    remote ones the image's `python` (`KITARU_RUNTIME_PYTHON`), never a path that exists only here."""
    if not remote:
        from kitaru.config._tunables import tunables

        custom = tunables().local_runner_command
        if not custom:
            return RUNNER_COMMAND
        try:
            return tuple(shlex.split(custom))
        except ValueError as exc:  # an unclosed quote
            raise KitaruUsageError(f"KITARU_LOCAL_RUNNER_COMMAND={custom!r} is not a command line ({exc}): quote "
                                   "it as a shell would, e.g. 'nice -n 10 python -m kitaru.runtime'") from None
    return (os.environ.get("KITARU_RUNTIME_PYTHON") or "python", "-m", "kitaru.runtime")


def stack_orchestrator(stack: str, *, home: Path, state: StateStore) -> Orchestrator:
    """The live orchestrator of `stack`; KitaruUsageError says why the stack cannot run."""
    from kitaru.stacks import resolve_stack

    return resolve_stack(stack, home=home, state=state).orchestrator


def dispatch_runner(exec_id: str, *, orchestrator: Orchestrator, owner: str, home: Path, state: StateStore,
                    cwd: str | None = None, server_env: dict[str, str] | None = None, image: str | None = None) -> str:
    """Submit `python -m kitaru.runtime EXEC_ID` to `orchestrator`; record and return the job id.

    The runner inherits the lease held by `owner`; a runner connected to a server gets a token scoped
    to this one execution (never the caller's API key; a server dispatching itself passes `server_env`).
    If the orchestrator refuses the job, the execution fails with origin `infrastructure` (retry
    continues it) instead of waiting for a lease that no runner will ever take. `image` (recorded in the
    execution's flow source at `.run()`: the flow's ImageSettings) overrides the orchestrator's default image.
    """
    env = {"KITARU_RUNNER_OWNER": owner, "KITARU_INTERACTIVE": "0",  # no terminal there
           **(server_env if server_env is not None else _server_env(state, exec_id))}
    if orchestrator.remote:
        env["KITARU_FETCH_CODE"] = "1"  # import the flow from the shipped archive, not the starter's paths
    else:
        env["KITARU_HOME"] = str(home)  # the same machine: the same store and job files
    try:
        job = JobSpec(exec_id=exec_id, command=[*runner_command(orchestrator.remote), exec_id], env=env, cwd=cwd,
                      image=image if orchestrator.remote else None)
        job_id = orchestrator.submit(job)
    except Exception as exc:  # any refusal of the backend: record it on the execution, then report it
        from kitaru.runtime._runner import failure_from

        state.finish_execution(exec_id, owner=owner, status="failed", failure=failure_from(exc, "infrastructure"))
        raise KitaruBackendError(
            f"the {orchestrator.flavor} orchestrator did not start a runner for execution {exec_id}: {exc}; "
            f"it is marked failed: fix the cause, then `kitaru executions retry {exec_id}`"
        ) from exc
    state.record_dispatch(exec_id, orchestrator=orchestrator.flavor, job_id=job_id)
    return job_id


def _server_env(state: StateStore, exec_id: str) -> dict[str, str]:
    """When connected to a server: its URL and a token scoped to this execution (never the caller's API key)."""
    server = state.server
    if server is None:
        return {}
    return {"KITARU_SERVER_URL": server.url, "KITARU_AUTH_TOKEN": server.execution_token(exec_id), "KITARU_API_KEY": ""}
