"""Brokered dispatch credentials: the session policy allows exactly create/describe/stop + PassRole of one role."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kitaru.errors import KitaruUsageError
from kitaru_s3.testing import allows, evaluate
from kitaru_sagemaker import dispatch_policy
from kitaru_sagemaker.testing import FakeSageMaker


ROLE = "arn:aws:iam::123456789012:role/kitaru-jobs"
JOBS = "arn:aws:sagemaker:eu-west-1:123456789012:training-job"


def test_policy_allows_only_the_three_calls_on_kitaru_jobs() -> None:
    p = dispatch_policy(ROLE, "eu-west-1")
    for action in ("sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"):
        assert allows(p, action, f"{JOBS}/kitaru-e1-0a1b2c3d")
        assert not allows(p, action, f"{JOBS}/someone-elses-job")  # only Kitaru's job names
        assert not allows(p, action, "arn:aws:sagemaker:us-east-1:123456789012:training-job/kitaru-e1")  # region
        assert not allows(p, action, "arn:aws:sagemaker:eu-west-1:999999999999:training-job/kitaru-e1")  # account
    for action in ("sagemaker:DeleteTrainingJob", "sagemaker:CreateEndpoint", "sagemaker:ListTrainingJobs",
                   "sagemaker:*", "s3:GetObject", "iam:CreateRole", "logs:GetLogEvents", "sts:AssumeRole"):
        assert evaluate(p, action, f"{JOBS}/kitaru-e1-0a1b2c3d") == "implicit-deny", action


def test_policy_tags_only_while_creating() -> None:
    p = dispatch_policy(ROLE, "eu-west-1")
    job = f"{JOBS}/kitaru-e1-0a1b2c3d"
    assert allows(p, "sagemaker:AddTags", job, {"sagemaker:TaggingAction": "CreateTrainingJob"})
    assert not allows(p, "sagemaker:AddTags", job)  # tagging an existing job: refused


def test_policy_passes_only_the_execution_role_only_to_sagemaker() -> None:
    p = dispatch_policy(ROLE, "eu-west-1")
    to_sm = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert allows(p, "iam:PassRole", ROLE, to_sm)
    assert not allows(p, "iam:PassRole", "arn:aws:iam::123456789012:role/admin", to_sm)
    assert not allows(p, "iam:PassRole", ROLE, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows(p, "iam:PassRole", ROLE)


def test_policy_partition_follows_the_region() -> None:
    p = dispatch_policy("arn:aws-cn:iam::123456789012:role/jobs", "cn-north-1")
    assert allows(p, "sagemaker:CreateTrainingJob",
                  "arn:aws-cn:sagemaker:cn-north-1:123456789012:training-job/kitaru-e1-00000000")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from tests.e2e.moto import moto_server

    with moto_server() as url:
        yield url


def _dispatch_role(moto_url: str) -> str:
    from tests.e2e.moto import boto

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                     "Action": "sts:AssumeRole"}]}
    return str(boto("iam", moto_url).create_role(RoleName=f"kitaru-dispatch-{uuid.uuid4().hex[:8]}",
                                                AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def test_mint_credentials_assumes_the_dispatch_role_with_the_policy(fake: FakeSageMaker, moto_url: str) -> None:
    role = _dispatch_role(moto_url)
    orch = fake.orchestrator(image="img", dispatch_role_arn=role, sts_endpoint_url=moto_url, region="eu-west-1")
    creds = orch.mint_credentials("", access="write", ttl=60)  # clamped to STS' 900 s minimum
    v: dict[str, Any] = creds.values
    assert creds.flavor == "sagemaker" and v["aws_access_key_id"].startswith("ASIA") and v["aws_session_token"]
    assert v["region"] == "eu-west-1" and "endpoint_url" not in v
    from datetime import datetime, timezone

    assert 800 < (creds.expires_at - datetime.now(timezone.utc)).total_seconds() <= 900
    assert orch.dispatch_policy()["Statement"][2]["Resource"] == "arn:aws:iam::123456789012:role/kitaru-jobs"


def test_mint_without_dispatch_role_says_what_to_set(fake: FakeSageMaker) -> None:
    with pytest.raises(KitaruUsageError, match="dispatch_role_arn"):
        fake.orchestrator(image="img").mint_credentials("")


def test_a_client_with_brokered_credentials_submits_with_them(fake: FakeSageMaker) -> None:
    from datetime import datetime, timedelta, timezone

    from kitaru.plugins import Credentials
    from kitaru_sagemaker._config import SageMakerOrchestratorConfig
    from kitaru_sagemaker._orchestrator import SageMakerOrchestrator

    calls: list[str] = []

    def broker(access: str) -> Credentials:
        calls.append(access)
        return Credentials("sagemaker", "write", "", datetime.now(timezone.utc) + timedelta(hours=1),
                           {"aws_access_key_id": "ASIABROKERED", "aws_secret_access_key": "s",
                            "aws_session_token": "t", "region": "us-east-1"})

    values = {k: v for k, v in fake.config(image="img").items() if not k.startswith("aws_")}
    orch = SageMakerOrchestrator(SageMakerOrchestratorConfig(**values), broker=broker)
    import sys

    from kitaru.plugins import JobSpec

    job = orch.submit(JobSpec("e1", [sys.executable, "-c", "pass"]))
    assert calls == ["write"] and orch.status(job).state in ("pending", "running", "succeeded")
    assert fake.access_keys[-1] == "ASIABROKERED"
