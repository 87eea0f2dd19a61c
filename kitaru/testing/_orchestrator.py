"""Conformance suite every orchestrator flavor runs: subclass it and provide an `orchestrator` fixture.

Besides the job lifecycle, it runs a real Kitaru execution through the orchestrator under test
(`python -m kitaru.runtime EXEC_ID` as the job), so a flavor whose jobs never reach the runtime fails here.
"""

from __future__ import annotations

import importlib
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from kitaru.errors import KitaruError
from kitaru.plugins import JobSpec, JobStatus, Orchestrator


class OrchestratorConformance:
    """Submit / status / cancel / logs lifecycle; override `command()` for images without this Python."""

    timeout = 60.0
    poll = 0.05

    @pytest.fixture
    def orchestrator(self) -> Any:
        """The orchestrator under test (override in the subclass)."""
        raise NotImplementedError("override the `orchestrator` fixture")

    def command(self, code: str) -> list[str]:
        """The command that runs Python `code` where the orchestrator runs jobs."""
        return [sys.executable, "-c", code]

    def runtime_command(self, exec_id: str) -> list[str]:
        """The command that continues execution `exec_id` where the orchestrator runs jobs."""
        return [sys.executable, "-m", "kitaru.runtime", exec_id]

    def job(self, code: str, **env: str) -> JobSpec:
        """A job spec running `code`."""
        return JobSpec(exec_id=f"conf{uuid.uuid4().hex[:10]}", command=self.command(code), env=env)

    def wait_for(self, orchestrator: Any, job_id: str, states: tuple[str, ...]) -> JobStatus:
        """Poll until the job is in one of `states` (bounded by `timeout`)."""
        deadline = time.monotonic() + self.timeout
        while True:
            status = orchestrator.status(job_id)
            if status.state in states:
                result: JobStatus = status
                return result
            assert time.monotonic() < deadline, f"job {job_id} still {status.state} after {self.timeout}s"
            time.sleep(self.poll)

    def test_satisfies_protocol(self, orchestrator: Any) -> None:
        assert isinstance(orchestrator, Orchestrator)
        assert isinstance(orchestrator.remote, bool)

    def test_submit_runs_to_success_with_logs_and_env(self, orchestrator: Any) -> None:
        job_id = orchestrator.submit(self.job("import os; print('hello', os.environ['KITARU_CONF'])", KITARU_CONF="42"))
        assert isinstance(job_id, str) and job_id
        status = self.wait_for(orchestrator, job_id, ("succeeded", "failed", "cancelled"))
        assert status.state == "succeeded", status
        assert status.done
        assert any("hello 42" in line for line in orchestrator.logs(job_id))

    def test_failing_job_is_failed(self, orchestrator: Any) -> None:
        job_id = orchestrator.submit(self.job("import sys; print('bad'); sys.exit(3)"))
        status = self.wait_for(orchestrator, job_id, ("succeeded", "failed", "cancelled"))
        assert status.state == "failed", status

    def test_cancel_running_job(self, orchestrator: Any) -> None:
        job_id = orchestrator.submit(self.job("import time; print('started', flush=True); time.sleep(120)"))
        self.wait_for(orchestrator, job_id, ("running",))
        orchestrator.cancel(job_id)
        status = self.wait_for(orchestrator, job_id, ("cancelled", "failed", "succeeded"))
        assert status.state == "cancelled", status

    def test_cancel_finished_job_is_a_no_op(self, orchestrator: Any) -> None:
        job_id = orchestrator.submit(self.job("pass"))
        self.wait_for(orchestrator, job_id, ("succeeded",))
        orchestrator.cancel(job_id)
        assert orchestrator.status(job_id).state == "succeeded"

    def test_unknown_job_is_an_error(self, orchestrator: Any) -> None:
        with pytest.raises(KitaruError):
            orchestrator.status("no-such-job-" + uuid.uuid4().hex[:6])

    def test_runs_a_kitaru_execution_to_completion(self, orchestrator: Any, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        """The job runs `python -m kitaru.runtime EXEC_ID`: the execution's checkpoints run there and it completes."""
        module = f"kitaru_conformance_{uuid.uuid4().hex[:8]}"
        code_dir, home = tmp_path / "code", tmp_path / "kitaru-home"
        code_dir.mkdir()
        (code_dir / f"{module}.py").write_text(_FLOW_MODULE)
        for var in ("KITARU_SERVER_URL", "KITARU_API_KEY", "KITARU_AUTH_TOKEN", "KITARU_STACK"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("KITARU_HOME", str(home))  # an embedded store the job reaches through the same path
        monkeypatch.syspath_prepend(str(code_dir))
        flow = importlib.import_module(module).conformance_flow
        exec_id, owner = _prepare_execution(flow, {"x": 5})
        env = {"KITARU_HOME": str(home), "PYTHONPATH": str(code_dir), "KITARU_RUNNER_OWNER": owner,
               "KITARU_INTERACTIVE": "0"}
        job_id = orchestrator.submit(JobSpec(exec_id=exec_id, command=self.runtime_command(exec_id), env=env))
        status = self.wait_for(orchestrator, job_id, ("succeeded", "failed", "cancelled"))
        assert status.state == "succeeded", (status, list(orchestrator.logs(job_id)))
        from kitaru.client import KitaruClient

        client = KitaruClient()
        assert client.executions.wait(exec_id, timeout=self.timeout) == 22
        execution = client.executions.get(exec_id)
        assert execution.status == "completed" and execution.runs == 1, execution
        assert [c.invocation_id for c in execution.checkpoints] == ["double", "double_2"]
        assert all(c.status == "completed" for c in execution.checkpoints)


_FLOW_MODULE = """
from kitaru import checkpoint, flow


@checkpoint
def double(x: int) -> int:
    return x * 2


@flow
def conformance_flow(x: int) -> int:
    return double(x) + double(x + 1)
"""


def _prepare_execution(flow: Any, inputs: dict[str, Any]) -> tuple[str, str]:
    """Record a new execution of `flow` in the embedded store (lease held for its runner); (exec_id, owner)."""
    from kitaru.artifacts._blobs import encode_value, write_encoded
    from kitaru.config._paths import resolve_home
    from kitaru.config._resolve import resolve_config
    from kitaru.runtime._context import new_owner
    from kitaru.runtime._source import describe_source
    from kitaru.stacks import artifact_store_for_stack
    from kitaru.store import new_exec_id, open_state

    home = resolve_home()
    state, store = open_state(home), artifact_store_for_stack("default", home)
    config = resolve_config(flow.options)
    encoded, inputs_ref = encode_value(store, inputs)
    write_encoded(store, encoded, inputs_ref)
    exec_id, owner = new_exec_id(), new_owner()
    state.create_execution({"id": exec_id, "flow_name": flow.name, "flow_source": describe_source(flow.fn),
                            "stack": "default", "config": config.stored(), "inputs": inputs_ref},
                           owner=owner, lease_ttl=120.0)  # the job has two minutes to start and take it over
    return exec_id, owner
