"""Training jobs on the fake: the request JSON, the lifecycle, failures before the runtime starts, logs, cancel."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from kitaru.errors import KitaruError, KitaruUsageError
from kitaru.plugins import JobSpec
from kitaru_sagemaker import SageMakerJobNotFoundError
from kitaru_sagemaker.testing import FakeSageMaker

from sm_helpers import IMAGE, eventually


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_request_json_carries_every_option(fake: FakeSageMaker) -> None:
    orch = fake.orchestrator(
        image=IMAGE, instance_type="ml.c5.xlarge", instance_count=2, volume_size_gb=50,
        volume_kms_key_id="arn:aws:kms:us-east-1:123456789012:key/vol", output_kms_key_id="alias/out",
        max_runtime_seconds=7200, subnets=["subnet-0abc"], security_group_ids=["sg-0def"],
        tags={"team": "agents"}, environment={"LOG_LEVEL": "debug"})
    name = orch.submit(JobSpec("exec/42 x", py("print(1)"), env={"KITARU_AUTH_TOKEN": "tok", "A": "1"}))
    assert name.startswith("kitaru-exec-42-x-") and len(name) <= 63
    (req,) = fake.requests
    assert req["TrainingJobName"] == name
    assert req["AlgorithmSpecification"] == {"TrainingImage": IMAGE, "TrainingInputMode": "File",
                                             "ContainerEntrypoint": [sys.executable],
                                             "ContainerArguments": ["-c", "print(1)"]}
    assert req["RoleArn"] == "arn:aws:iam::123456789012:role/kitaru-jobs"
    assert req["ResourceConfig"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50,
                                     "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/vol"}
    assert req["OutputDataConfig"] == {"S3OutputPath": "s3://kitaru-out/jobs", "KmsKeyId": "alias/out"}
    assert req["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert req["VpcConfig"] == {"Subnets": ["subnet-0abc"], "SecurityGroupIds": ["sg-0def"]}
    assert req["Environment"] == {"LOG_LEVEL": "debug", "KITARU_AUTH_TOKEN": "tok", "A": "1"}
    assert {"Key": "team", "Value": "agents"} in req["Tags"]
    assert {"Key": "kitaru:execution", "Value": "exec/42 x"} in req["Tags"]
    assert req["EnableManagedSpotTraining"] is False and "CheckpointConfig" not in req


def test_spot_sets_max_wait_and_checkpoints(fake: FakeSageMaker) -> None:
    orch = fake.orchestrator(image=IMAGE, use_spot=True, max_runtime_seconds=600, max_wait_seconds=1200,
                             checkpoint_s3_uri="s3://kitaru-out/ckpt")
    orch.submit(JobSpec("e1", py("pass")))
    req = fake.requests[0]
    assert req["EnableManagedSpotTraining"] is True
    assert req["StoppingCondition"] == {"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200}
    assert req["CheckpointConfig"] == {"S3Uri": "s3://kitaru-out/ckpt"}


def test_lifecycle_pending_running_succeeded_with_env(fake: FakeSageMaker) -> None:
    fake.download_delay = 0.5
    orch = fake.orchestrator(image=IMAGE)
    job = orch.submit(JobSpec("e1", py("import os,time; print('v', os.environ['X']); time.sleep(0.5)"), env={"X": "7"}))
    assert orch.status(job).state == "pending"
    running = eventually(lambda: orch.status(job).state == "running" and orch.status(job), what="running")
    assert "Training" in running.message
    done = eventually(lambda: orch.status(job).done and orch.status(job), what="done")
    assert done.state == "succeeded" and done.exit_code == 0
    lines = list(orch.logs(job))
    assert "v 7" in lines and any("Downloading" in line for line in lines)


def test_image_pull_failure_before_start_is_failed_with_reason(fake: FakeSageMaker) -> None:
    fake.fail_image("*/missing:*")
    orch = fake.orchestrator(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:1")
    job = orch.submit(JobSpec("e1", py("print('never')")))
    status = eventually(lambda: orch.status(job).done and orch.status(job), what="failed")
    assert status.state == "failed" and "ClientError: Cannot find or pull the training image" in status.message
    assert fake.process(job) is None  # nothing ran
    lines = list(orch.logs(job))
    assert any(line.startswith("[sagemaker] FailureReason: ClientError") for line in lines)
    orch.cancel(job)  # a failed job: nothing to stop
    assert "SageMaker.StopTrainingJob" not in fake.calls


def test_nonzero_exit_is_failed_with_algorithm_error(fake: FakeSageMaker, orchestrator: Any) -> None:
    job = orchestrator.submit(JobSpec("e1", py("raise SystemExit(3)")))
    status = eventually(lambda: orchestrator.status(job).done and orchestrator.status(job))
    assert status.state == "failed" and "AlgorithmError" in status.message and "exit code 3" in status.message


def test_max_runtime_exceeded_is_failed_not_cancelled(fake: FakeSageMaker) -> None:
    orch = fake.orchestrator(image=IMAGE, max_runtime_seconds=1)
    job = orch.submit(JobSpec("e1", py("import time; time.sleep(60)")))
    status = eventually(lambda: orch.status(job).done and orch.status(job))
    assert status.state == "failed" and "MaxRuntimeExceeded" in status.message


def test_cancel_before_start_stops_without_running(fake: FakeSageMaker) -> None:
    fake.start_delay = 1.0
    orch = fake.orchestrator(image=IMAGE)
    job = orch.submit(JobSpec("e1", py("print('never')")))
    orch.cancel(job)
    assert orch.status(job).state == "cancelled"
    time.sleep(1.3)
    assert fake.process(job) is None and orch.status(job).state == "cancelled"


def test_cancel_sends_sigterm_then_the_job_is_stopped(fake: FakeSageMaker, orchestrator: Any) -> None:
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: (print('term', flush=True), sys.exit(0)))\n"
            "print('up', flush=True)\ntime.sleep(60)")
    job = orchestrator.submit(JobSpec("e1", py(code)))
    eventually(lambda: "up" in list(orchestrator.logs(job)), what="started")
    orchestrator.cancel(job)
    eventually(lambda: fake.jobs[job].status == "Stopped", what="stopped")
    assert orchestrator.status(job).state == "cancelled" and "term" in list(orchestrator.logs(job))


def test_bad_input_is_refused_before_anything_is_created(fake: FakeSageMaker) -> None:
    with pytest.raises(KitaruUsageError, match="needs an image"):
        fake.orchestrator().submit(JobSpec("e1", py("pass")))
    orch = fake.orchestrator(image=IMAGE)
    with pytest.raises(KitaruUsageError, match="48 environment variables"):
        orch.submit(JobSpec("e1", py("pass"), env={f"V{i}": "x" for i in range(49)}))
    with pytest.raises(KitaruUsageError, match="256 characters"):
        orch.submit(JobSpec("e1", py("x" * 300)))
    assert fake.requests == []
    with pytest.raises(SageMakerJobNotFoundError):
        orch.status("kitaru-nope-00000000")
    with pytest.raises(SageMakerJobNotFoundError):
        orch.cancel("../../etc")


def test_refusals_are_kitaru_errors_that_say_what_to_do(fake: FakeSageMaker) -> None:
    orch = fake.orchestrator(image=IMAGE, endpoint_url="http://127.0.0.1:9")  # nothing listens
    with pytest.raises(KitaruError, match="endpoint_url"):
        orch.submit(JobSpec("e1", py("pass")))
