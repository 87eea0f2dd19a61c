"""`@checkpoint(runtime="isolated")`: one checkpoint call runs as its own job on the stack's orchestrator.

The flow's runner keeps the lease and the journal. For each attempt it writes the call's inputs to the
artifact store, submits `python -m kitaru.runtime EXEC_ID --checkpoint INV` (a local process on the local
stack, a Job/CustomJob/TrainingJob on remote ones), waits (bounded) for the job's outcome document in the
execution's own area of the store, and then records the attempt exactly like an inline call: the same
`complete_call`/`fail_call`, retries, cache and replay. The job only computes: it imports the checkpoint,
runs it on the recorded inputs, writes the output blob and the outcome document.

A runtime connected to a server never holds dispatch credentials: the server submits, reports on and stops
its checkpoint jobs (`/executions/{id}/jobs`), with a runtime token of the same execution.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruFeatureNotAvailableError, KitaruRuntimeError, KitaruUsageError
from kitaru.plugins._protocols import JobSpec, JobStatus, Orchestrator
from kitaru.runtime._capture import write_original_stderr

if TYPE_CHECKING:
    from kitaru.artifacts import ArtifactStore
    from kitaru.config._models import KitaruConfig
    from kitaru.runtime._capture import LogSink
    from kitaru.runtime._context import ExecutionContext
    from kitaru.store import ServerLink, StateStore

JOB_ENV = "KITARU_CHECKPOINT_JOB"
_MAX_POLL = 0.5
_MAIN_MODULES = ("__main__", "__kitaru_main__")


def job_timeout() -> float:
    """Seconds a runner waits for one isolated checkpoint job (`KITARU_CHECKPOINT_JOB_TIMEOUT`, default 1 h)."""
    return float(os.environ.get("KITARU_CHECKPOINT_JOB_TIMEOUT", "3600"))


class CheckpointJobError(KitaruRuntimeError):
    """An isolated checkpoint's job ended (or ran out of time) without reporting an outcome."""

    __kitaru_origin__ = "infrastructure"


class IsolatedCheckpointError(Exception):
    """An isolated checkpoint raised an exception that could not be rebuilt here (its type and message)."""


# ------------------------------------------------------------------------------------------ the flow's side
def run_isolated(ctx: ExecutionContext, fn: Callable[..., Any], name: str, args: tuple[Any, ...],
                 kwargs: dict[str, Any], *, inv: str, attempt: int, metadata: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Run one attempt of checkpoint `inv` as a job; return (output, its blob ref) or raise its error."""
    from kitaru.artifacts import put_value
    from kitaru.runtime._steps import backend_origin, load_output

    target = checkpoint_target(fn, name)
    jobs = job_runner(ctx)
    with backend_origin():
        inputs = put_value(ctx.store, {"args": list(args), "kwargs": dict(kwargs)})
    result = f"executions/{ctx.exec_id}/isolated/{inv}/{attempt}-{uuid.uuid4().hex[:8]}.json"
    job = {"inv": inv, "name": name, "target": target, "inputs": inputs, "result": result, "owner": ctx.owner}
    job_id = jobs.submit(ctx, job)
    metadata["job"] = {"orchestrator": jobs.flavor, "job_id": job_id.split("|")[0]}
    try:
        outcome = _await_outcome(ctx, jobs, job_id, result, inv)
    except BaseException:
        _cancel_quietly(jobs, job_id)
        raise
    _delete_quietly(ctx.store, result)
    for key, value in (outcome.get("metadata") or {}).items():
        metadata.setdefault(key, value)  # kitaru.log() in the job; the runner's own keys win
    if outcome.get("status") == "completed":
        with backend_origin():
            return load_output(ctx, outcome["output"]), outcome["output"]
    raise _rebuilt_error(ctx, outcome)


def checkpoint_target(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    """Where a job finds the checkpoint: its module (None: the flow's script) and qualified name."""
    qualname = getattr(fn, "__qualname__", "")
    if not qualname or "<locals>" in qualname:
        raise KitaruUsageError(f"isolated checkpoint {name!r} is defined inside a function, so its job cannot import"
                               " it; define it at module level or drop runtime='isolated'")
    module = fn.__module__
    return {"module": None if module in _MAIN_MODULES else module, "qualname": qualname}


def _await_outcome(ctx: ExecutionContext, jobs: CheckpointJobs, job_id: str, result: str, inv: str) -> dict[str, Any]:
    """Poll (with backoff, bounded by `job_timeout()`) for the outcome; stop at a cancel or a lost lease."""
    deadline = time.monotonic() + job_timeout()
    delay = 0.02
    while True:
        outcome = _read_outcome(ctx.store, result)
        if outcome is not None:
            return outcome
        ctx.boundary()
        status = _status(jobs, job_id)
        if status is not None and status.done:
            outcome = _read_outcome(ctx.store, result)  # it may have landed between the two reads
            if outcome is not None:
                return outcome
            raise CheckpointJobError(
                f"the {jobs.flavor} job {job_id.split('|')[0]} of isolated checkpoint {inv!r} ended without reporting"
                f" an outcome ({status.state}: {status.message or 'no reason given'})")
        if time.monotonic() >= deadline:
            raise CheckpointJobError(
                f"isolated checkpoint {inv!r} did not finish within {job_timeout():g} s (job {job_id.split('|')[0]});"
                " its job was stopped. Raise KITARU_CHECKPOINT_JOB_TIMEOUT if it needs longer")
        time.sleep(delay)
        delay = min(delay * 1.5, _MAX_POLL)


def _status(jobs: CheckpointJobs, job_id: str) -> JobStatus | None:
    try:
        return jobs.status(job_id)
    except Exception as exc:  # noqa: BLE001 - a flaky backend read: the outcome document stays the truth
        write_original_stderr(f"kitaru: cannot read the status of checkpoint job {job_id.split('|')[0]}: {exc}\n")
        return None


def _read_outcome(store: ArtifactStore, key: str) -> dict[str, Any] | None:
    if not store.exists(key):
        return None
    with store.open(key) as f:
        outcome = json.loads(f.read())
    if not isinstance(outcome, dict) or outcome.get("status") not in ("completed", "failed"):
        raise CheckpointJobError(f"the outcome document {key} of an isolated checkpoint is malformed")
    return outcome


def _rebuilt_error(ctx: ExecutionContext, outcome: dict[str, Any]) -> BaseException:
    """The job's exception (its own type, when it unpickles), carrying the job's recorded error info."""
    from kitaru.runtime._steps import load_output

    info = outcome.get("error") or {}
    exc: Any = None
    if outcome.get("exception"):
        try:
            exc = load_output(ctx, outcome["exception"])
        except Exception:  # noqa: BLE001 - an exception type this process cannot import: report it by name
            exc = None
    if not isinstance(exc, Exception):
        exc = IsolatedCheckpointError(f"{info.get('type', 'Exception')}: {info.get('message', '')}")
    exc.__kitaru_error__ = info
    if outcome.get("origin"):
        exc.__kitaru_origin__ = outcome["origin"]
    return exc  # type: ignore[no-any-return]


def _cancel_quietly(jobs: CheckpointJobs, job_id: str) -> None:
    try:
        jobs.cancel(job_id)
    except Exception as exc:  # noqa: BLE001 - the runner is stopping anyway; say what may be left behind
        write_original_stderr(f"kitaru: could not stop checkpoint job {job_id.split('|')[0]}: {exc}\n")


def _delete_quietly(store: ArtifactStore, key: str) -> None:
    try:
        store.delete(key)
    except Exception as exc:  # noqa: BLE001 - a leftover outcome document is harmless
        write_original_stderr(f"kitaru: could not delete the outcome document {key}: {exc}\n")


# ------------------------------------------------------------------------------------------ where jobs go
def checkpoint_job_spec(exec_id: str, job: dict[str, Any], *, remote: bool, home: Path,
                        server_env: dict[str, str], cwd: str | None = None, image: str | None = None) -> JobSpec:
    """The JobSpec of one isolated checkpoint attempt (the same for a runner and for the server)."""
    from kitaru.runtime._dispatch import runner_command

    env = {"KITARU_INTERACTIVE": "0", JOB_ENV: json.dumps(job, separators=(",", ":")), **server_env}
    if remote:
        env["KITARU_FETCH_CODE"] = "1"
    else:
        env["KITARU_HOME"] = str(home)
    return JobSpec(exec_id=exec_id, command=[*runner_command(remote), exec_id, "--checkpoint", job["inv"]], env=env, cwd=cwd,
                   image=image if remote else None, checkpoint=job["inv"])


class DirectJobs:
    """Submits to the stack's orchestrator from this process (embedded store, or a local orchestrator)."""

    def __init__(self, orchestrator: Orchestrator, home: Path) -> None:
        self.orchestrator, self.home, self.flavor = orchestrator, home, orchestrator.flavor

    def submit(self, ctx: ExecutionContext, job: dict[str, Any]) -> str:
        server_env: dict[str, str] = {}
        server = ctx.state.server
        if server is not None:  # the job acts with this runtime's own token (scoped to the execution)
            server_env = {"KITARU_SERVER_URL": server.url, "KITARU_AUTH_TOKEN": server.bearer_token() or "",
                          "KITARU_API_KEY": ""}
        spec = checkpoint_job_spec(ctx.exec_id, job, remote=self.orchestrator.remote, home=self.home,
                                   server_env=server_env, cwd=os.getcwd())
        return str(self.orchestrator.submit(spec))

    def status(self, job_id: str) -> JobStatus:
        return self.orchestrator.status(job_id)

    def cancel(self, job_id: str) -> None:
        self.orchestrator.cancel(job_id)


class ServerJobs:
    """A runtime on a server's remote stack: the server submits, reports on and stops the checkpoint's job."""

    def __init__(self, server: ServerLink, exec_id: str, flavor: str) -> None:
        self.server, self.exec_id, self.flavor = server, exec_id, flavor

    def submit(self, ctx: ExecutionContext, job: dict[str, Any]) -> str:
        return self.server.submit_checkpoint_job(self.exec_id, owner=ctx.owner, job=job)

    def status(self, handle: str) -> JobStatus:
        raw = self.server.checkpoint_job_status(self.exec_id, handle)
        return JobStatus(raw["state"], raw.get("message") or "", raw.get("exit_code"))

    def cancel(self, handle: str) -> None:
        self.server.cancel_checkpoint_job(self.exec_id, handle)


CheckpointJobs = DirectJobs | ServerJobs
"""Where an execution's isolated checkpoints are submitted, followed and stopped."""

_runners_lock = threading.Lock()


def job_runner(ctx: ExecutionContext) -> CheckpointJobs:
    """Where this execution's isolated checkpoints go (resolved once per flow body)."""
    with _runners_lock:
        if ctx.jobs is None:
            ctx.jobs = _resolve_runner(ctx)
        return ctx.jobs


def _resolve_runner(ctx: ExecutionContext) -> CheckpointJobs:
    from kitaru.config._paths import resolve_home
    from kitaru.stacks import resolve_stack

    home = resolve_home()
    stack = resolve_stack(ctx.config.stack, home=home, state=ctx.state)
    flavor = (stack.spec.get("orchestrator") or {}).get("flavor", "local")
    server = ctx.state.server
    if server is not None and flavor != "local":
        from kitaru.plugins import get_plugin_manager

        known = get_plugin_manager().find_flavor("orchestrator", flavor)
        if known is None or known.remote:
            return ServerJobs(server, ctx.exec_id, flavor)
    orchestrator = stack.orchestrator
    if orchestrator.remote and server is None:
        raise KitaruFeatureNotAvailableError(
            f"isolated checkpoints on the {flavor} orchestrator of stack {stack.name!r}",
            provided_by="a connected Kitaru server (`kitaru login URL`)")
    return DirectJobs(orchestrator, home)


# ------------------------------------------------------------------------------------------- the job's side
def run_checkpoint_job(exec_id: str, inv: str) -> int:
    """The body of `python -m kitaru.runtime EXEC_ID --checkpoint INV`: compute one call, write its outcome."""
    from kitaru.config._paths import resolve_home
    from kitaru.runtime._launch import _stored_config
    from kitaru.stacks import artifact_store_for_stack
    from kitaru.store import acting_as, execution_scoped, open_state

    raw = os.environ.pop(JOB_ENV, "")
    try:
        job = json.loads(raw)
    except ValueError:
        job = None
    if not isinstance(job, dict) or job.get("inv") != inv:
        raise KitaruUsageError(f"this checkpoint job was started without a description of call {inv!r} in {JOB_ENV}")
    home = resolve_home()
    state = execution_scoped(open_state(home), exec_id)
    with acting_as(state):
        row = state.get_execution(exec_id)
        if row is None:
            raise KitaruUsageError(f"execution {exec_id} does not exist in {home}")
        config = _stored_config(row)
        store = artifact_store_for_stack(config.stack, home)
        outcome = _compute(exec_id, job, row, config, state, store, home)
        store.write(job["result"], json.dumps(outcome).encode())
    return 0 if outcome["status"] == "completed" else 1


def _compute(exec_id: str, job: dict[str, Any], row: dict[str, Any], config: KitaruConfig, state: StateStore,
             store: ArtifactStore, home: Path) -> dict[str, Any]:
    from kitaru.artifacts import get_value, put_value
    from kitaru.runtime._capture import LogSink, install_capture
    from kitaru.runtime._context import ExecutionContext, _checkpoint, _checkpoint_metadata, _current
    from kitaru.runtime._steps import error_info

    metadata: dict[str, Any] = {}
    ctx = ExecutionContext(exec_id=exec_id, state=state, store=store, owner=job["owner"], config=config,
                           flow_name=row["flow_name"])
    ctx.sink = LogSink(exec_id, state) if config.log_capture else None
    if ctx.sink is not None:
        install_capture()
    flusher = _Flusher(ctx.sink)
    tokens = (_current.set(ctx), _checkpoint.set(job["inv"]), _checkpoint_metadata.set(metadata))
    origin = "runtime"  # until the user's function starts, a failure is the runtime's
    try:
        fn = _load_target(row["flow_source"], job["target"], home)
        payload = get_value(store, job["inputs"])
        origin = "user_code"
        value = fn(*payload["args"], **payload["kwargs"])
        origin = "backend"
        output = put_value(store, value)
    except BaseException as exc:  # noqa: BLE001 - everything the call raised goes back to the runner
        return {"status": "failed", "error": error_info(exc), "exception": _pickled(store, exc),
                "origin": None if origin == "user_code" else origin, "metadata": metadata}
    finally:
        _current.reset(tokens[0])
        _checkpoint.reset(tokens[1])
        _checkpoint_metadata.reset(tokens[2])
        flusher.stop()
    return {"status": "completed", "output": output, "metadata": metadata}


def _load_target(flow_source: dict[str, Any], target: dict[str, Any], home: Path) -> Callable[..., Any]:
    """Import the flow's project (from its shipped archive on a remote stack), then the checkpoint function."""
    import importlib

    from kitaru.runtime._launch import _runnable_source
    from kitaru.runtime._source import load_flow
    from kitaru.sdk._checkpoint import Checkpoint

    load_flow(_runnable_source(flow_source, home))
    obj: Any = sys.modules["__main__"] if target.get("module") is None else importlib.import_module(target["module"])
    for part in str(target["qualname"]).split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise KitaruUsageError(f"checkpoint {target['qualname']!r} is no longer defined in"
                                   f" {target.get('module') or 'the flow script'}")
    fn = obj.fn if isinstance(obj, Checkpoint) else obj
    if not callable(fn):
        raise KitaruUsageError(f"{target['qualname']!r} is not a checkpoint function")
    return fn


def _pickled(store: ArtifactStore, exc: BaseException) -> dict[str, Any] | None:
    """The exception as a blob, so the runner can re-raise its own type (None if it does not serialize)."""
    from kitaru.artifacts import put_value

    try:
        exc.__traceback__ = None
        return put_value(store, exc)
    except Exception:  # noqa: BLE001 - the type and message still go back in the error info
        return None


class _Flusher(threading.Thread):
    """Ships the job's captured log lines while the checkpoint runs (the runner's heartbeat does it inline)."""

    def __init__(self, sink: LogSink | None) -> None:
        super().__init__(name="kitaru-job-logs", daemon=True)
        self.sink, self._done = sink, threading.Event()
        if sink is not None:
            self.start()

    def run(self) -> None:
        while not self._done.wait(0.25):
            self._flush()

    def _flush(self) -> None:
        if self.sink is None:
            return
        try:
            self.sink.flush()
        except Exception as exc:  # noqa: BLE001 - kept and sent again by the next flush
            write_original_stderr(f"kitaru: shipping checkpoint job logs failed: {exc}\n")

    def stop(self) -> None:
        if self.sink is None:
            return
        self._done.set()
        self.join(timeout=5)
        try:
            self.sink.close()
        except Exception as exc:  # noqa: BLE001
            write_original_stderr(f"kitaru: shipping checkpoint job logs failed: {exc}\n")
