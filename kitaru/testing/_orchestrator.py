"""Conformance suite every orchestrator flavor runs: subclass it and provide an `orchestrator` fixture."""

from __future__ import annotations

import sys
import time
import uuid
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

    def job(self, code: str, **env: str) -> JobSpec:
        """A job spec running `code`."""
        return JobSpec(exec_id=f"conf{uuid.uuid4().hex[:10]}", command=self.command(code), env=env)

    def wait_for(self, orchestrator: Any, job_id: str, states: tuple[str, ...]) -> JobStatus:
        """Poll until the job is in one of `states` (bounded by `timeout`)."""
        deadline = time.monotonic() + self.timeout
        while True:
            status = orchestrator.status(job_id)
            if status.state in states:
                return status  # type: ignore[no-any-return]
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
