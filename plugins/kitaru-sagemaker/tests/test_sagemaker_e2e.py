"""The production path end to end on SageMaker: a client with no AWS credentials runs a flow on a sagemaker
stack; a real server on PostgreSQL brokers dispatch credentials (STS AssumeRole with the dispatch session
policy, moto) and S3 credentials; the fake control plane runs each training job's entrypoint as a real
`python -m kitaru.runtime` process that fetches the shipped code archive and writes outputs to moto S3."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kitaru_s3")

from kitaru_sagemaker.testing import FakeSageMaker  # noqa: E402

from kitaru.client import KitaruClient  # noqa: E402
from tests.e2e.flows import REMOTE_FLOWS as FLOWS  # noqa: E402
from tests.e2e.moto import assumable_role, boto  # noqa: E402
from tests.e2e.world import answer_as_a_member, cloud_world, moto_url  # noqa: E402,F401  (a fixture)
from tests.support import flow_file, flow_module, wait_for  # noqa: E402,F401  (fixtures)

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agents:1"


@pytest.fixture
def world(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Moto (S3, STS, IAM) + the fake SageMaker + a server on PostgreSQL; this process without AWS credentials."""
    store_role, dispatch_role = assumable_role(moto_url, "kitaru-store"), assumable_role(moto_url, "kitaru-dispatch")
    # the container's execution role: reads (and deletes) its token secret, nothing else is used
    role = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url}

    def sagemaker(base_env: dict[str, str]) -> FakeSageMaker:
        return FakeSageMaker(stop_grace=1.0, base_env=base_env)

    with cloud_world(tmp_path, moto_url, monkeypatch, sagemaker, "fake", job_env=role) as world:
        from kitaru.stacks import register_stack

        register_stack("sm.yaml", text=textwrap.dedent(f"""
            name: sm
            orchestrator: {{flavor: sagemaker, role_arn: "arn:aws:iam::123456789012:role/kitaru-jobs",
                            dispatch_role_arn: "{dispatch_role}", output_path: "s3://{world["bucket"]}/sm-output",
                            image: "{IMAGE}", region: us-east-1, endpoint_url: "{world["fake"].url}",
                            sts_endpoint_url: "{moto_url}", instance_type: ml.m5.large,
                            token_delivery: secretsmanager, secrets_endpoint_url: "{moto_url}"}}
            artifact_store: {{flavor: s3, path: "s3://{world["bucket"]}/kitaru", region: us-east-1,
                              endpoint_url: "{moto_url}", role_arn: "{store_role}"}}
        """), activate=False)
        yield world


def test_run_on_sagemaker_from_a_client_without_cloud_credentials(world: dict[str, Any], flow_module) -> None:
    mod = flow_module(FLOWS, "sm_agent")
    handle = mod.research.run("durable", stack="sm")
    assert handle.wait(timeout=120) == "DURABLE!"
    fake: FakeSageMaker = world["fake"]
    [req] = fake.requests
    assert req["AlgorithmSpecification"]["ContainerArguments"][-2:] == ["kitaru.runtime", handle.exec_id]
    assert req["Environment"]["KITARU_FETCH_CODE"] == "1" and not req["Environment"].get("KITARU_API_KEY")
    assert "KITARU_AUTH_TOKEN" not in req["Environment"] and req["Environment"]["KITARU_SECRET_ENV_ARN"]
    assert "ASIA" in fake.access_keys[0]  # the client created the job with brokered STS credentials
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.orchestrator == "sagemaker" and execution.job_id == req["TrainingJobName"]
    keys = [o["Key"] for o in boto("s3", world["moto"]).list_objects_v2(Bucket=world["bucket"])["Contents"]]
    assert any(k.startswith("kitaru/code/sha256/") for k in keys) and any("/blobs/" in k for k in keys)


def test_a_killed_container_is_lost_and_retry_does_not_rerun_completed_checkpoints(
        world: dict[str, Any], flow_module) -> None:
    fake: FakeSageMaker = world["fake"]
    fake.base_env["SLOW"] = "30"
    mod = flow_module(FLOWS, "sm_agent2")
    handle = mod.research.run("kill", stack="sm")
    marks = world["marks"]
    wait_for(lambda: "slow" in marks.read_text().split(), timeout=90)
    [name] = list(fake.jobs)
    fake.process(name).send_signal(signal.SIGKILL)
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "failed", timeout=60, interval=0.5)
    fake.base_env["SLOW"] = "0"
    client.executions.retry(handle.exec_id)
    assert handle.wait(timeout=120) == "KILL!"
    assert marks.read_text().split().count("fetch") == 1  # the completed checkpoint was not run again
    assert len(fake.jobs) == 2


def test_an_answer_from_another_user_is_dispatched_by_the_server(world: dict[str, Any], flow_module) -> None:
    mod = flow_module(FLOWS, "sm_agent3")
    handle = mod.approved.run("wait", stack="sm")
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "waiting", timeout=90, interval=0.3)
    answered = answer_as_a_member(world["server"], handle.exec_id)
    assert answered.status_code == 200, answered.text
    assert handle.wait(timeout=120) == "WAIT"
    assert len(world["fake"].jobs) == 2  # the server dispatched the continuation as a new training job


def test_cancel_stops_the_training_job(world: dict[str, Any], flow_module) -> None:
    fake: FakeSageMaker = world["fake"]
    fake.base_env["SLOW"] = "60"
    mod = flow_module(FLOWS, "sm_agent4")
    handle = mod.research.run("stop", stack="sm")
    wait_for(lambda: "slow" in world["marks"].read_text().split(), timeout=90)
    client = KitaruClient()
    client.executions.cancel(handle.exec_id)
    wait_for(lambda: client.executions.get(handle.exec_id).status == "cancelled", timeout=60, interval=0.5)
    [job] = list(fake.jobs.values())
    wait_for(lambda: job.status == "Stopped", timeout=30, interval=0.2)
    assert "SageMaker.StopTrainingJob" in fake.calls


def test_an_image_that_cannot_be_pulled_fails_with_origin_infrastructure(world: dict[str, Any], flow_module) -> None:
    world["fake"].fail_image("*/agents:*")
    mod = flow_module(FLOWS, "sm_agent5")
    handle = mod.research.run("img", stack="sm")
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "failed", timeout=90, interval=0.5)
    failure = client.executions.get(handle.exec_id).failure
    assert failure is not None and str(failure.origin) == "infrastructure"
    assert "ClientError: Cannot find or pull the training image" in failure.message
