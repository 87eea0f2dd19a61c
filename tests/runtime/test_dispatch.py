"""Every runner starts through the stack's orchestrator: a recording orchestrator plugin sees each dispatch."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru.client import KitaruClient
from tests.plugins.fakedists import make_dist
from tests.support import on_backend, wait_for

RECORDING = """
import json, os
from pydantic import BaseModel, ConfigDict
from kitaru.plugins import hookimpl
from kitaru.plugins._local_jobs import LocalOrchestrator
from kitaru.artifacts import LocalArtifactStore

class RecordingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    log: str

class Recording(LocalOrchestrator):
    flavor = "recording"

    def __init__(self, jobs_dir, log):
        super().__init__(jobs_dir)
        self.log = log

    def submit(self, job):
        with open(self.log, "a") as f:
            f.write(json.dumps({"exec_id": job.exec_id, "command": job.command, "env": sorted(job.env),
                                "home": str(self.jobs_dir.parent)}) + "\\n")
        return super().submit(job)

class RemoteRecording(Recording):
    flavor = "recording-remote"
    remote = True

class Held(RemoteRecording):
    # accepts jobs and runs nothing; <log>.status says what the backend reports ("pending", "failed: why")
    flavor = "held"

    def submit(self, job):
        with open(self.log, "a") as f:
            f.write(json.dumps({"exec_id": job.exec_id, "command": job.command, "env": sorted(job.env)}) + "\\n")
        return "held-" + job.exec_id

    def status(self, job_id):
        from kitaru.plugins import JobStatus
        state, _, why = open(self.log + ".status").read().partition(":")
        return JobStatus(state.strip(), why.strip())

    def cancel(self, job_id):
        with open(self.log + ".status", "w") as f:
            f.write("cancelled: stopped " + job_id)

class Slow(Held):
    # a backend whose submit call takes SLOW_SUBMIT seconds (a busy control plane)
    flavor = "slow"

    def submit(self, job):
        import time
        time.sleep(float(os.environ.get("SLOW_SUBMIT", "0")))
        return super().submit(job)

class SharedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str

class SharedStore(LocalArtifactStore):
    # a directory every machine mounts (think NFS): a store remote jobs can reach
    flavor = "shared"

    def __init__(self, path):
        super().__init__(path)
        self.root = "shared://" + str(self.path)

@hookimpl
def kitaru_register_components(registry):
    registry.add_orchestrator("recording", config=RecordingConfig,
                              factory=lambda c, ctx: Recording(ctx.home / "jobs", c.log))
    registry.add_orchestrator("recording-remote", config=RecordingConfig, remote=True,
                              factory=lambda c, ctx: RemoteRecording(ctx.home / "jobs", c.log))
    registry.add_orchestrator("held", config=RecordingConfig, remote=True,
                              factory=lambda c, ctx: Held(ctx.home / "jobs", c.log))
    registry.add_orchestrator("slow", config=RecordingConfig, remote=True,
                              factory=lambda c, ctx: Slow(ctx.home / "jobs", c.log))
    registry.add_artifact_store("shared", config=SharedConfig, factory=lambda c, ctx: SharedStore(c.path),
                                schemes=("shared",), from_root=lambda root: SharedStore(root[len("shared://"):]))
"""

FLOWS = """
import os
import kitaru
from kitaru import checkpoint, flow

@checkpoint
def step(name: str) -> str:
    with open(os.environ["MARKS"], "a") as f:
        f.write(name + "\\n")
    return "out-" + name

@checkpoint
def where() -> str:
    return os.path.abspath(__file__)

@flow
def located() -> str:
    return where()

@flow
def gated(topic: str) -> str:
    first = step(topic)
    ok = kitaru.wait(schema=bool, name="go", question="go on?")
    return first + ("+" + step("after") if ok else "")
"""


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The recording orchestrator plugin, installed for this process, its runners and its server."""
    site = tmp_path / "site"
    make_dist(site, "kitaru-recording", "0.1", {"recording": "kitaru_recording"}, {"kitaru_recording": RECORDING})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("KITARU_JOB_GRACE", "1")  # the server's reconciler re-checks a pending job after 1 s
    monkeypatch.setenv("KITARU_CANCEL_GRACE", "0.5")  # and stops a cancelled execution's job after 0.5 s
    from kitaru.plugins import reset_plugin_manager

    reset_plugin_manager()
    yield site
    reset_plugin_manager()


@pytest.fixture(params=["embedded", "sqlite"])
def backend(request: pytest.FixtureRequest, kitaru_home: Path, tmp_path: Path, plugin_site: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with on_backend(request.param, tmp_path, monkeypatch):
        yield request.param


@pytest.fixture
def recording_stack(tmp_path: Path, backend: str) -> Path:
    """A stack `rec` whose orchestrator logs every JobSpec it gets."""
    log = tmp_path / "dispatches.jsonl"
    import kitaru

    spec = {"name": "rec", "orchestrator": {"flavor": "recording", "log": str(log)}, "artifact_store": {"flavor": "local"}}
    from kitaru.stacks import register_stack

    register_stack("rec.yaml", text=json.dumps(spec), activate=False)
    assert kitaru  # the SDK is what the test drives
    return log


def _dispatches(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_answer_and_replay_dispatch_through_the_stacks_orchestrator(flow_module, recording_stack: Path) -> None:
    mod = flow_module(FLOWS, "dispatch_flows")
    handle = mod.gated.run("a", stack="rec")
    assert handle.status == "waiting"
    assert _dispatches(recording_stack) == []  # the first turn ran in this process

    client = KitaruClient()
    client.executions.input(handle.exec_id, wait="go", value=True)
    wait_for(lambda: client.executions.get(handle.exec_id).status == "completed", timeout=30)
    [job] = _dispatches(recording_stack)
    assert job["exec_id"] == handle.exec_id
    assert job["command"][-3:] == ["-m", "kitaru.runtime", handle.exec_id]
    assert {"KITARU_HOME", "KITARU_RUNNER_OWNER"} <= set(job["env"])
    row = client.executions.get(handle.exec_id)
    assert row.orchestrator == "recording" and row.job_id and row.job_id.startswith(handle.exec_id)
    assert mod.marks() == ["a", "after"]  # the completed checkpoint did not run again

    replayed = client.executions.replay(handle.exec_id, from_="step_2")
    wait_for(lambda: client.executions.get(replayed.exec_id).status == "completed", timeout=30)
    assert [j["exec_id"] for j in _dispatches(recording_stack)] == [handle.exec_id, replayed.exec_id]


def test_a_stack_whose_orchestrator_cannot_be_built_fails_the_continuation_clearly(
        flow_module, recording_stack: Path, tmp_path: Path) -> None:
    mod = flow_module(FLOWS, "dispatch_flows2")
    handle = mod.gated.run("b", stack="rec")
    from kitaru.plugins import reset_plugin_manager

    os.environ["KITARU_DISABLE_PLUGINS"] = "kitaru-recording"
    try:
        reset_plugin_manager()
        from kitaru.stacks._resolve import forget_cached

        forget_cached("rec")
        from kitaru.errors import KitaruError

        with pytest.raises(KitaruError, match="recording"):
            KitaruClient().executions.input(handle.exec_id, wait="go", value=True)
    finally:
        del os.environ["KITARU_DISABLE_PLUGINS"]
        reset_plugin_manager()
        forget_cached("rec")
    assert _dispatches(recording_stack) == []
    client = KitaruClient()
    assert client.executions.get(handle.exec_id).status == "waiting"  # answered, nothing claimed
    client.executions.resume(handle.exec_id)
    wait_for(lambda: client.executions.get(handle.exec_id).status == "completed", timeout=30)
    assert len(_dispatches(recording_stack)) == 1


def _remote_spec(log: Path, store: dict[str, Any]) -> str:
    return json.dumps({"name": "far", "orchestrator": {"flavor": "recording-remote", "log": str(log)},
                       "artifact_store": store})


def test_a_remote_orchestrator_needs_a_store_its_jobs_can_reach(recording_stack: Path) -> None:
    from kitaru.stacks import StackSpecError, register_stack

    with pytest.raises(StackSpecError, match=r"artifact_store\.flavor: .*s3://"):
        register_stack("far.yaml", text=_remote_spec(recording_stack, {"flavor": "local"}))


def test_remote_stacks_need_a_server_and_run_returns_once_dispatched(
        flow_module, recording_stack: Path, tmp_path: Path, backend: str, kitaru_home: Path) -> None:
    from kitaru.errors import KitaruUsageError
    from kitaru.stacks import register_stack

    text = _remote_spec(recording_stack, {"flavor": "shared", "path": str(tmp_path / "shared")})
    if backend == "embedded":
        with pytest.raises(KitaruUsageError, match="kitaru login"):
            register_stack("far.yaml", text=text)
        return
    register_stack("far.yaml", text=text)
    mod = flow_module(FLOWS, "dispatch_flows3")
    handle = mod.gated.run("c", stack="far")
    [job] = _dispatches(recording_stack)  # the first turn went to the orchestrator, not this process
    assert job["exec_id"] == handle.exec_id and "KITARU_AUTH_TOKEN" in job["env"]
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "waiting", timeout=30)
    client.executions.input(handle.exec_id, wait="go", value=False)
    assert handle.wait(timeout=30) == "out-c"
    first, answered = _dispatches(recording_stack)
    assert first["exec_id"] == answered["exec_id"] == handle.exec_id
    assert first["home"] == str(kitaru_home) and answered["home"] != str(kitaru_home)  # the server dispatched it
    assert list((tmp_path / "shared").rglob("*"))  # outputs went to the stack's store

    located = mod.located.run(stack="far")
    ran_from = Path(located.wait(timeout=30))
    assert ran_from.is_relative_to(kitaru_home / "code") and ran_from.name == "dispatch_flows3.py"  # from the archive
    assert list((tmp_path / "shared" / "code" / "sha256").glob("*.tar.gz"))


def test_the_reconciler_asks_the_orchestrator_before_declaring_a_runner_lost(
        flow_module, recording_stack: Path, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "embedded":
        pytest.skip("remote stacks need a server")
    from kitaru.stacks import register_stack

    monkeypatch.setenv("KITARU_DISPATCH_GRACE", "0.5")
    monkeypatch.setenv("KITARU_LEASE_TTL", "2")  # what the sleeps below are measured against
    status = Path(f"{recording_stack}.status")
    status.write_text("pending: ContainerCreating")
    register_stack("held.yaml", text=json.dumps({
        "name": "held", "orchestrator": {"flavor": "held", "log": str(recording_stack)},
        "artifact_store": {"flavor": "shared", "path": str(tmp_path / "shared")}}))
    mod = flow_module(FLOWS, "dispatch_flows4")
    handle = mod.located.run(stack="held")
    client = KitaruClient()
    import time

    time.sleep(2.5)  # the lease (lease TTL 2 s, grace 0.5 s) has expired; the job is still "pending"
    assert client.executions.get(handle.exec_id).status == "running"  # a slow pod is not a lost runner

    status.write_text("failed: ErrImagePull: registry.example/agent:1 not found")
    wait_for(lambda: client.executions.get(handle.exec_id).status == "failed", timeout=60, interval=0.5)
    failure = client.executions.get(handle.exec_id).failure
    assert failure is not None and failure.origin == "infrastructure" and "ErrImagePull" in failure.message


def test_a_dispatch_slower_than_the_lease_keeps_its_execution(
        flow_module, recording_stack: Path, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatching process holds the lease until the job is recorded: a backend slower to accept the job than
    the lease (2 s here) and the dispatch grace (0.5 s) does not get the execution declared lost meanwhile."""
    if backend == "embedded":
        pytest.skip("remote stacks need a server")
    from kitaru.stacks import register_stack

    monkeypatch.setenv("KITARU_DISPATCH_GRACE", "0.5")
    monkeypatch.setenv("KITARU_LEASE_TTL", "2")  # what the sleeps below are measured against
    monkeypatch.setenv("SLOW_SUBMIT", "4")
    Path(f"{recording_stack}.status").write_text("pending: ContainerCreating")
    register_stack("slow.yaml", text=json.dumps({
        "name": "slow", "orchestrator": {"flavor": "slow", "log": str(recording_stack)},
        "artifact_store": {"flavor": "shared", "path": str(tmp_path / "shared")}}))
    mod = flow_module(FLOWS, "dispatch_flows6")
    handle = mod.located.run(stack="slow")  # returns once the job is submitted and recorded (4 s)
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.status == "running" and execution.job_id == f"held-{handle.exec_id}", execution.failure


def test_cancel_stops_the_job_when_the_runner_does_not_stop_by_itself(
        flow_module, recording_stack: Path, tmp_path: Path, backend: str) -> None:
    if backend == "embedded":
        pytest.skip("remote stacks need a server")
    from kitaru.stacks import register_stack

    status = Path(f"{recording_stack}.status")
    status.write_text("running")
    register_stack("held.yaml", text=json.dumps({
        "name": "held", "orchestrator": {"flavor": "held", "log": str(recording_stack)},
        "artifact_store": {"flavor": "shared", "path": str(tmp_path / "shared")}}))
    mod = flow_module(FLOWS, "dispatch_flows5")
    handle = mod.located.run(stack="held")
    client = KitaruClient()
    assert client.executions.cancel(handle.exec_id).status == "running"  # cooperative first: the runner may stop
    wait_for(lambda: client.executions.get(handle.exec_id).status == "cancelled", timeout=60, interval=0.3)
    assert status.read_text() == f"cancelled: stopped held-{handle.exec_id}"  # the orchestrator stopped the job


def test_local_runners_start_with_the_configured_command(flow_module, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """`KITARU_LOCAL_RUNNER_COMMAND` replaces `python -m kitaru.runtime` for the local orchestrator: here a
    wrapper that leaves a mark and then runs the runner, whose checkpoints see the wrapper's environment."""
    import shlex
    import sys

    wrapper = tmp_path / "wrapper.sh"
    wrapper.write_text('#!/bin/sh\necho "wrapped:$2:$3:$4" >> "$MARKS"\nexec env WRAPPED=yes "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("KITARU_LOCAL_RUNNER_COMMAND", f"{wrapper} {shlex.quote(sys.executable)} -m kitaru.runtime")
    mod = flow_module(FLOWS.replace('step("after")', 'step("after-" + os.environ.get("WRAPPED", "no"))'),
                      "wrapped_flows")
    handle = mod.gated.run("a")
    client = KitaruClient()
    client.executions.input(handle.exec_id, wait="go", value=True)
    assert handle.wait(timeout=60) == "out-a+out-after-yes"
    assert mod.marks() == ["a", f"wrapped:-m:kitaru.runtime:{handle.exec_id}", "after-yes"]


def test_a_local_runner_command_that_is_not_a_command_line_fails_the_continuation_with_the_fix(
        flow_module, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.errors import KitaruBackendError

    mod = flow_module(FLOWS, "unquoted_flows")
    handle = mod.gated.run("a")
    monkeypatch.setenv("KITARU_LOCAL_RUNNER_COMMAND", "python -m 'kitaru.runtime")
    client = KitaruClient()
    with pytest.raises(KitaruBackendError, match="KITARU_LOCAL_RUNNER_COMMAND=.*quote it as a shell would"):
        client.executions.input(handle.exec_id, wait="go", value=True)
    row = client.executions.get(handle.exec_id)
    assert row.status == "failed" and row.failure is not None and str(row.failure.origin) == "infrastructure"
    assert mod.marks() == ["a"]
