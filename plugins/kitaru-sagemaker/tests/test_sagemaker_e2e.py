"""The production path end to end on SageMaker: a client with no AWS credentials runs a flow on a sagemaker
stack; a real server on PostgreSQL brokers dispatch credentials (STS AssumeRole with the dispatch session
policy, moto) and S3 credentials; the fake control plane runs each training job's entrypoint as a real
`python -m kitaru.runtime` process that fetches the shipped code archive and writes outputs to moto S3."""

from __future__ import annotations

import os
import signal
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kitaru_s3")

from kitaru_sagemaker.testing import FakeSageMaker  # noqa: E402

from kitaru.client import KitaruClient  # noqa: E402
from kitaru.testing import LocalServer  # noqa: E402
from tests.e2e.flows import REMOTE_FLOWS as FLOWS  # noqa: E402
from tests.e2e.moto import ROOT_CREDS, assumable_role, boto, moto_server  # noqa: E402
from tests.server.support import pg_database  # noqa: E402
from tests.support import flow_file, flow_module, http, wait_for  # noqa: E402,F401  (fixtures)

ROOT = Path(__file__).resolve().parents[3]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agents:1"

DISPATCH_GRACE = "3"
"""A dispatched runner's time to take its lease once its job is recorded (default 15 s, for real clusters): a job that
never starts (an image that cannot be pulled) fails after it; one still starting is kept by its orchestrator's answer."""


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def world(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Moto (S3, STS, IAM) + the fake SageMaker + a server on PostgreSQL; this process without AWS credentials."""
    bucket = f"kitaru-{uuid.uuid4().hex[:10]}"
    boto("s3", moto_url).create_bucket(Bucket=bucket)
    store_role, dispatch_role = assumable_role(moto_url, "kitaru-store"), assumable_role(moto_url, "kitaru-dispatch")
    marks = tmp_path / "marks.txt"
    marks.touch()
    job_env = {"PYTHONPATH": str(ROOT), "MARKS": str(marks), "KITARU_LEASE_TTL": "2",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
               "AWS_CONFIG_FILE": str(tmp_path / "none"), "SLOW": "0",
               # the container's execution role: reads (and deletes) its token secret, nothing else is used
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url}
    url, drop = pg_database()
    server_env = {"AWS_ACCESS_KEY_ID": ROOT_CREDS["aws_access_key_id"],
                  "AWS_SECRET_ACCESS_KEY": ROOT_CREDS["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1",
                  "KITARU_JOB_GRACE": "1", "KITARU_CANCEL_GRACE": "0.5", "KITARU_DISPATCH_GRACE": DISPATCH_GRACE}
    with FakeSageMaker(stop_grace=1.0, base_env=job_env) as fake, \
            LocalServer(url, tmp_path / "server-home", env=server_env) as server:
        for var in [v for v in os.environ if v.startswith("AWS_")]:
            monkeypatch.delenv(var)
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("MARKS", str(marks))
        monkeypatch.setenv("KITARU_DISPATCH_GRACE", DISPATCH_GRACE)
        monkeypatch.setenv("KITARU_SERVER_URL", server.url)
        monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
        from kitaru.stacks import register_stack

        register_stack("sm.yaml", text=textwrap.dedent(f"""
            name: sm
            orchestrator: {{flavor: sagemaker, role_arn: "arn:aws:iam::123456789012:role/kitaru-jobs",
                            dispatch_role_arn: "{dispatch_role}", output_path: "s3://{bucket}/sm-output",
                            image: "{IMAGE}", region: us-east-1, endpoint_url: "{fake.url}",
                            sts_endpoint_url: "{moto_url}", instance_type: ml.m5.large,
                            token_delivery: secretsmanager, secrets_endpoint_url: "{moto_url}"}}
            artifact_store: {{flavor: s3, path: "s3://{bucket}/kitaru", region: us-east-1,
                              endpoint_url: "{moto_url}", role_arn: "{store_role}"}}
        """), activate=False)
        yield {"fake": fake, "server": server, "bucket": bucket, "marks": marks, "moto": moto_url}
    drop()  # type: ignore[operator]


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
    server = world["server"]
    admin = {"Authorization": f"Bearer {server.token()}"}
    http.post(f"{server.url}/api/v1/users", json={"name": "reviewer", "role": "member"}, headers=admin,
              timeout=10).raise_for_status()
    key = http.post(f"{server.url}/api/v1/api-keys", json={"name": "k", "principal": "reviewer"}, headers=admin,
                    timeout=10).json()["api_key"]
    token = http.post(f"{server.url}/api/v1/auth/token", json={"api_key": key}, timeout=10).json()["access_token"]
    answered = http.post(f"{server.url}/api/v1/executions/{handle.exec_id}/waits/resolve",
                         json={"invocation_id": "ok", "status": "answered", "answer": True},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
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
