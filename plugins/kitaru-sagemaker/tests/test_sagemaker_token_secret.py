"""`token_delivery: secretsmanager`: the execution token never appears in the request or DescribeTrainingJob."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from kitaru.plugins import JobSpec
from kitaru_s3.testing import allows
from kitaru_sagemaker import dispatch_policy
from kitaru_sagemaker.testing import FakeSageMaker

from sm_helpers import IMAGE, eventually


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from tests.e2e.moto import moto_server

    with moto_server() as url:
        yield url


def test_token_travels_through_a_secret_that_the_entrypoint_deletes(moto_url: str) -> None:
    from tests.e2e.moto import boto

    job_env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url}  # the execution role, in the container
    with FakeSageMaker(base_env=job_env) as fake:
        orch = fake.orchestrator(image=IMAGE, token_delivery="secretsmanager", secrets_endpoint_url=moto_url)
        job = orch.submit(JobSpec("e1", [sys.executable, "-c", "import os; print('token', os.environ['KITARU_AUTH_TOKEN'],"
                                                               " 'KITARU_SECRET_ENV_ARN' in os.environ)"],
                                  env={"KITARU_AUTH_TOKEN": "s3cr3t-token", "KITARU_SERVER_URL": "http://x"}))
        status = eventually(lambda: orch.status(job).done and orch.status(job))
        assert status.state == "succeeded", (status, list(orch.logs(job)))
        assert "token s3cr3t-token False" in list(orch.logs(job))  # the runtime got it; the ARN was removed
        req = fake.requests[0]
        assert "s3cr3t-token" not in repr(req) and "s3cr3t-token" not in repr(orch.describe(job))
        assert req["Environment"]["KITARU_SERVER_URL"] == "http://x"
        assert req["AlgorithmSpecification"]["ContainerArguments"][:2] == ["-m", "kitaru_sagemaker.entrypoint"]
        names = [s["Name"] for s in boto("secretsmanager", moto_url).list_secrets()["SecretList"]]
        assert not [n for n in names if job.removeprefix("kitaru-") in n]  # deleted once read


def test_a_refused_job_leaves_no_secret(moto_url: str) -> None:
    from tests.e2e.moto import boto

    with FakeSageMaker() as fake:
        orch = fake.orchestrator(image=IMAGE, token_delivery="secretsmanager", secrets_endpoint_url=moto_url,
                                 role_arn="arn:aws:iam::123456789012:role/x")
        fake.close()  # the control plane is gone: CreateTrainingJob fails after the secret was made
        with pytest.raises(Exception):
            orch.submit(JobSpec("refused", [sys.executable, "-c", "pass"], env={"KITARU_AUTH_TOKEN": "t"}))
    names = [s["Name"] for s in boto("secretsmanager", moto_url).list_secrets()["SecretList"]]
    assert not [n for n in names if "refused" in n]


def test_secret_policy_only_with_secretsmanager_delivery() -> None:
    role = "arn:aws:iam::123456789012:role/jobs"
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:kitaru/kitaru-e1-00000000-AbCdEf"
    assert not allows(dispatch_policy(role, "us-east-1"), "secretsmanager:CreateSecret", secret)
    p = dispatch_policy(role, "us-east-1", secrets=True)
    assert allows(p, "secretsmanager:CreateSecret", secret) and allows(p, "secretsmanager:DeleteSecret", secret)
    assert not allows(p, "secretsmanager:GetSecretValue", secret)  # the dispatcher never reads tokens back
    assert not allows(p, "secretsmanager:DeleteSecret",
                      "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password")


def test_a_job_failing_before_its_entrypoint_leaves_no_secret(moto_url: str) -> None:
    from tests.e2e.moto import boto

    with FakeSageMaker() as fake:
        fake.fail_image("*/missing:*")
        orch = fake.orchestrator(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/missing:1",
                                 token_delivery="secretsmanager", secrets_endpoint_url=moto_url)
        job = orch.submit(JobSpec("pullfail", [sys.executable, "-c", "pass"], env={"KITARU_AUTH_TOKEN": "t"}))
        names = lambda: [s["Name"] for s in boto("secretsmanager", moto_url).list_secrets()["SecretList"]]  # noqa: E731
        assert [n for n in names() if "pullfail" in n]  # made at submit
        status = eventually(lambda: orch.status(job).done and orch.status(job))
        assert status.state == "failed" and "ClientError" in status.message
        assert not [n for n in names() if "pullfail" in n]  # removed once the job ended without reading it
