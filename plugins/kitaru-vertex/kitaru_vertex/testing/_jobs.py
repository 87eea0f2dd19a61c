"""The fake's job runner: each CustomJob's container command runs as a real local process.

States, as Vertex AI documents them: QUEUED (waiting for quota, `queue_delay`) → PENDING (provisioning
and pulling the image, `provision_delay`) → RUNNING (the process runs) → SUCCEEDED / FAILED (non-zero exit,
with Vertex's "exited with a non-zero status of N" message). `cancel`: CANCELLING (SIGTERM, SIGKILL after
the grace period) → CANCELLED. `scheduling.timeout` passed: the process is killed and the job FAILED.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.testing._forked import forked_container

if TYPE_CHECKING:
    from kitaru_vertex.testing import FakeVertex


def now_rfc3339() -> str:
    """The current time as Google APIs write it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Stop(Exception):
    """The job was cancelled, or the fake shut down."""


@dataclass
class JobRun:
    """One CustomJob and its local process."""

    name: str
    sandbox: Path
    stop: threading.Event = field(default_factory=threading.Event)
    proc: subprocess.Popen[bytes] | None = None
    thread: threading.Thread | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)  # (timestamp, text) as Cloud Logging keeps them
    spawned_at: float | None = None  # time.time() when the container process was started


class Runner:
    """Moves jobs through their states and runs their containers."""

    def __init__(self, fake: FakeVertex) -> None:
        self.fake = fake
        self.runs: dict[str, JobRun] = {}
        self.lock = threading.Lock()

    def start(self, name: str) -> None:
        run = JobRun(name, self.fake.root / name.rsplit("/", 1)[-1])
        run.sandbox.mkdir(parents=True)
        with self.lock:
            self.runs[name] = run
        run.thread = threading.Thread(target=self._run, args=(run,), name=f"fake-vertex-{name}", daemon=True)
        run.thread.start()

    def _run(self, run: JobRun) -> None:
        job = self.fake.job(run.name)
        pool = job["jobSpec"]["workerPoolSpecs"][0]
        timeout = _seconds((job["jobSpec"].get("scheduling") or {}).get("timeout"))
        deadline = None
        try:
            self._sleep(run, self.fake.queue_delay)
            self.fake.set_state(run.name, "JOB_STATE_PENDING")
            self._sleep(run, self.fake.provision_delay)
            image = pool["containerSpec"]["imageUri"]
            for pattern, message in self.fake.start_failures:
                if fnmatch.fnmatch(image, pattern):
                    self.fake.set_state(run.name, "JOB_STATE_FAILED", error={"code": 3, "message": message})
                    return
            self.fake.set_state(run.name, "JOB_STATE_RUNNING", startTime=now_rfc3339())
            deadline = time.monotonic() + timeout if timeout else None
            self._execute(run, pool["containerSpec"], deadline)
        except _Stop:
            self._kill(run)
            if self.fake.job(run.name)["state"] == "JOB_STATE_CANCELLING":
                self.fake.set_state(run.name, "JOB_STATE_CANCELLED", error={"code": 1, "message": "CANCELED"})

    def _execute(self, run: JobRun, container: dict[str, Any], deadline: float | None) -> None:
        args = [*(container.get("command") or []), *(container.get("args") or [])]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(run.sandbox), "LANG": "C.UTF-8",
               **self.fake.base_env, "CLOUD_ML_JOB_ID": run.name.rsplit("/", 1)[-1],
               **{e["name"]: e.get("value", "") for e in container.get("env") or []}}
        try:
            args, env = forked_container(args, env)  # a `python -m` container forks from the test zygote
            run.proc = subprocess.Popen(args, env=env, cwd=str(run.sandbox), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            run.spawned_at = time.time()
        except OSError as exc:
            self.fake.set_state(run.name, "JOB_STATE_FAILED", endTime=now_rfc3339(), error={
                "code": 3, "message": f"The replica workerpool0-0 could not start its container: {exc}"})
            return
        reader = threading.Thread(target=self._read, args=(run,), daemon=True)
        reader.start()
        while run.proc.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                self._kill(run)
                self.fake.set_state(run.name, "JOB_STATE_FAILED", endTime=now_rfc3339(), error={
                    "code": 4, "message": "The job was cancelled because it exceeded its scheduling.timeout"})
                return
            self._sleep(run, 0.02)
        reader.join(timeout=5)
        code = run.proc.returncode
        if code == 0:
            self.fake.set_state(run.name, "JOB_STATE_SUCCEEDED", endTime=now_rfc3339())
            return
        status = code if code > 0 else 128 - code
        job_number = run.name.rsplit("/", 1)[-1]
        self.fake.set_state(run.name, "JOB_STATE_FAILED", endTime=now_rfc3339(), error={"code": 3, "message": (
            f"The replica workerpool0-0 exited with a non-zero status of {status}. To find out more about why your"
            f" job exited please check the logs: https://console.cloud.google.com/logs/viewer?resource=ml_job%2F"
            f"job_id%2F{job_number}")})

    def _read(self, run: JobRun) -> None:
        assert run.proc is not None and run.proc.stdout is not None
        for raw in run.proc.stdout:
            run.lines.append((now_rfc3339(), raw.decode("utf-8", "replace").rstrip("\n")))

    def _sleep(self, run: JobRun, seconds: float) -> None:
        if run.stop.wait(seconds):
            raise _Stop

    def _kill(self, run: JobRun) -> None:
        """SIGTERM the process group, SIGKILL after the grace period."""
        proc = run.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=self.fake.grace_period)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def stop(self, name: str, wait: bool) -> None:
        """Stop a job's container (cancel or shutdown)."""
        with self.lock:
            run = self.runs.get(name)
        if run is None:
            return
        run.stop.set()
        if wait and run.thread is not None and run.thread is not threading.current_thread():
            run.thread.join(timeout=self.fake.grace_period + 10)

    def shutdown(self) -> None:
        """Kill every job process."""
        with self.lock:
            names = list(self.runs)
        for name in names:
            self.stop(name, wait=True)


def _seconds(value: str | None) -> float | None:
    return float(value.rstrip("s")) if value else None
