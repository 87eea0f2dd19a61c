"""The fake's training jobs: each runs its container entrypoint as a local process, with SageMaker's lifecycle.

InProgress/Starting → InProgress/Downloading → InProgress/Training (the process runs) → Completed/Completed,
or Failed/Failed with a FailureReason; StopTrainingJob → Stopping/Stopping (SIGTERM, SIGKILL after the grace
period) → Stopped/Stopped; MaxRuntimeInSeconds → Stopped/MaxRuntimeExceeded. An image that cannot be pulled
fails in Downloading with a ClientError before anything runs.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitaru.testing._forked import forked_container


@dataclass
class FakeJob:
    """One training job: the stored request, its description fields and its local process."""

    request: dict[str, Any]
    sandbox: Path
    status: str = "InProgress"
    secondary: str = "Starting"
    failure: str | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    stop_requested: bool = False
    created: float = field(default_factory=time.time)
    ended: float | None = None
    stream: str | None = None
    spawned_at: float | None = None  # time.time() when the container process was started
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return str(self.request["TrainingJobName"])

    def stopping(self) -> bool:
        """Whether StopTrainingJob was called (another thread sets it: read it afresh each time)."""
        return self.stop_requested

    def move(self, status: str, secondary: str, message: str) -> None:
        """Record a transition (SecondaryStatusTransitions keeps them, with start/end times)."""
        now = time.time()
        if self.transitions and "EndTime" not in self.transitions[-1]:
            self.transitions[-1]["EndTime"] = now
        self.status, self.secondary = status, secondary
        self.transitions.append({"Status": secondary, "StartTime": now, "StatusMessage": message})
        if status in ("Completed", "Failed", "Stopped"):
            self.ended = now
            self.transitions[-1]["EndTime"] = now

    def describe(self) -> dict[str, Any]:
        """The DescribeTrainingJob response (timestamps as epoch seconds, as the JSON protocol sends them)."""
        r = self.request
        out: dict[str, Any] = {
            "TrainingJobName": self.name,
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{self.name.lower()}",
            "TrainingJobStatus": self.status, "SecondaryStatus": self.secondary,
            "AlgorithmSpecification": r["AlgorithmSpecification"], "RoleArn": r["RoleArn"],
            "OutputDataConfig": r["OutputDataConfig"], "ResourceConfig": r["ResourceConfig"],
            "StoppingCondition": r["StoppingCondition"], "CreationTime": self.created,
            "LastModifiedTime": time.time(), "SecondaryStatusTransitions": [dict(t) for t in self.transitions],
            "EnableManagedSpotTraining": r.get("EnableManagedSpotTraining", False),
            "ModelArtifacts": {"S3ModelArtifacts": r["OutputDataConfig"]["S3OutputPath"].rstrip("/")
                               + f"/{self.name}/output/model.tar.gz"},
        }
        for key in ("Environment", "VpcConfig", "CheckpointConfig", "HyperParameters"):
            if key in r:
                out[key] = r[key]
        if self.failure:
            out["FailureReason"] = self.failure
        if self.ended:
            out["TrainingEndTime"] = self.ended
        return out


class Runner:
    """Drives each job's lifecycle on its own thread; `fake` holds the knobs (delays, grace, failing images)."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake

    def start(self, job: FakeJob) -> None:
        job.move("InProgress", "Starting", "Preparing the instances for training")
        threading.Thread(target=self._run, args=(job,), name=f"fake-sagemaker-{job.name}", daemon=True).start()

    def _run(self, job: FakeJob) -> None:
        time.sleep(self.fake.start_delay)
        image = job.request["AlgorithmSpecification"]["TrainingImage"]
        with job.lock:
            if job.stopping():
                return
            job.move("InProgress", "Downloading", "Downloading the training image")
        for pattern, reason in self.fake.image_failures:
            if fnmatch.fnmatch(image, pattern):
                with job.lock:
                    job.failure = reason.format(image=image)
                    job.move("Failed", "Failed", job.failure)
                return
        time.sleep(self.fake.download_delay)
        with job.lock:
            if job.stopping():
                return
            self._spawn(job)
            job.move("InProgress", "Training", "Training image download completed. Training in progress.")
        assert job.proc is not None
        deadline = time.monotonic() + int(job.request["StoppingCondition"]["MaxRuntimeInSeconds"])
        while job.proc.poll() is None:
            if time.monotonic() > deadline:
                self._kill(job)
                with job.lock:
                    job.move("Stopped", "MaxRuntimeExceeded", "Job stopped: MaxRuntimeInSeconds exceeded")
                return
            time.sleep(0.02)
        self._finish(job, job.proc.returncode)

    def _spawn(self, job: FakeJob) -> None:
        algo = job.request["AlgorithmSpecification"]
        args = [*algo.get("ContainerEntrypoint", []), *algo.get("ContainerArguments", [])]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(job.sandbox), "LANG": "C.UTF-8",
               "TRAINING_JOB_NAME": job.name, "SM_CURRENT_HOST": "algo-1", **self.fake.base_env,
               **(job.request.get("Environment") or {})}
        job.stream = f"{job.name}/algo-1-{int(time.time())}"
        log = open(job.sandbox / "log", "wb")  # noqa: SIM115 (the child owns it)
        with log:
            job.spawned_at = time.time()
            args, env = forked_container(args, env)  # a `python -m` container forks from the test zygote
            job.proc = subprocess.Popen(args, env=env, cwd=job.sandbox, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def _finish(self, job: FakeJob, code: int) -> None:
        with job.lock:
            if job.stopping():
                job.move("Stopped", "Stopped", "Training job stopped by the user")
            elif code == 0:
                job.move("InProgress", "Uploading", "Uploading generated training model")
                job.move("Completed", "Completed", "Training job completed")
            else:
                why = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                job.failure = f"AlgorithmError: the training container exited with {why}"
                job.move("Failed", "Failed", job.failure)

    def stop(self, job: FakeJob) -> None:
        """StopTrainingJob: Stopping now; SIGTERM, SIGKILL after the fake's grace period; then Stopped."""
        with job.lock:
            job.stop_requested = True
            job.move("Stopping", "Stopping", "Stopping the training job")
            proc = job.proc
        if proc is None:
            with job.lock:
                job.move("Stopped", "Stopped", "Training job stopped by the user")
            return
        threading.Thread(target=self._kill, args=(job,), daemon=True).start()

    def _kill(self, job: FakeJob) -> None:
        proc = job.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=self.fake.stop_grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def shutdown(self, jobs: list[FakeJob]) -> None:
        """Kill every process (tests' teardown)."""
        for job in jobs:
            if job.proc is not None and job.proc.poll() is None:
                try:
                    os.killpg(job.proc.pid, signal.SIGKILL)
                    job.proc.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
