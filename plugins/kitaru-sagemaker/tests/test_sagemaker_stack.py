"""A sagemaker stack in YAML and from `kitaru stack create --type sagemaker`: errors name the field."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru.testing import LocalServer
from kitaru.testing._forked import run_kitaru


def kitaru(*args: str) -> subprocess.CompletedProcess[str]:
    return run_kitaru(list(args), cwd=os.getcwd(), env=dict(os.environ), module=True)  # forked `python -m kitaru.cli`


@pytest.fixture(autouse=True)
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[None]:
    """SageMaker stacks live on a Kitaru server (their jobs report there): the CLI is connected to one."""
    if "embedded" in request.keywords:
        yield
        return
    from tests.server.support import pg_database  # PostgreSQL, as in production

    url, drop = pg_database()
    with LocalServer(url, tmp_path / "server-home") as srv:
        monkeypatch.setenv("KITARU_SERVER_URL", srv.url)
        monkeypatch.setenv("KITARU_API_KEY", srv.admin_key)
        yield
    drop()  # type: ignore[operator]


STACK = """\
name: sm
orchestrator:
  flavor: sagemaker
  role_arn: arn:aws:iam::123456789012:role/kitaru-jobs
  dispatch_role_arn: arn:aws:iam::123456789012:role/kitaru-dispatch
  output_path: s3://acme-agents/sagemaker-output
  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/agents:1
  region: eu-west-1
  instance_type: ml.m5.xlarge
  max_runtime_seconds: 3600
  subnets: [subnet-0abc]
  security_group_ids: [sg-0def]
  tags: {team: agents}
artifact_store: {flavor: s3, path: "s3://acme-agents/kitaru", region: eu-west-1}
"""


def test_stack_yaml_errors_name_the_field_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "sm.yaml"
    bad = (STACK.replace("  role_arn: arn:aws:iam::123456789012:role/kitaru-jobs\n", "")
           .replace("max_runtime_seconds: 3600", "max_runtime_seconds: 0")
           .replace("instance_type: ml.m5.xlarge", "instance_type: m5.xlarge"))
    spec.write_text(bad)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2, r.stderr
    assert "orchestrator.role_arn: Field required" in r.stderr
    assert f"{spec}:9: orchestrator.max_runtime_seconds: Input should be greater than or equal to 1" in r.stderr
    assert "orchestrator.instance_type" in r.stderr and "ml.m5.large" in r.stderr
    spec.write_text(STACK.replace("  security_group_ids: [sg-0def]\n", ""))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "security_group_ids" in r.stderr
    spec.write_text(STACK.replace("  region: eu-west-1\n", "  region: eu-west-1\n  aws_secret_access_key: plain\n"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "orchestrator.aws_secret_access_key: plaintext secrets are not allowed" in r.stderr
    spec.write_text(STACK.replace("  region: eu-west-1\n", "  region: eu-west-1\n  max_wait_seconds: 10\n"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "use_spot" in r.stderr
    assert "sm" not in kitaru("stack", "list").stdout.split()


def test_valid_stack_registers_and_lists(tmp_path: Path) -> None:
    spec = tmp_path / "sm.yaml"
    spec.write_text(STACK)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 0, r.stderr
    r = kitaru("stack", "show", "sm", "-o", "json")
    assert r.returncode == 0 and '"sagemaker"' in r.stdout and "kitaru-jobs" in r.stdout


def test_stack_create_from_flags(tmp_path: Path) -> None:
    r = kitaru("stack", "create", "sm", "--type", "sagemaker", "--artifact-store", "s3://acme-agents/kitaru",
               "--container-registry", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/agents", "--region", "eu-west-1",
               "--extra", "orchestrator.role_arn=arn:aws:iam::123456789012:role/kitaru-jobs",
               "--extra", "orchestrator.output_path=s3://acme-agents/out",
               "--extra", "orchestrator.instance_count=2", "-o", "json")
    assert r.returncode == 0, r.stderr
    spec = json.loads(r.stdout)["item"]["spec"]
    assert spec["orchestrator"] == {"flavor": "sagemaker", "region": "eu-west-1", "instance_count": 2,
                                    "role_arn": "arn:aws:iam::123456789012:role/kitaru-jobs",
                                    "output_path": "s3://acme-agents/out"}
    assert spec["container_registry"]["flavor"] == "ecr"
    r = kitaru("stack", "create", "bad", "--type", "sagemaker", "--artifact-store", "s3://acme-agents/kitaru",
               "--region", "eu-west-1", "--extra", "orchestrator.role_arn=not-an-arn")
    assert r.returncode == 2 and "orchestrator.role_arn" in r.stderr and "orchestrator.output_path" in r.stderr
    assert "bad" not in kitaru("stack", "list").stdout


@pytest.mark.embedded
def test_a_sagemaker_stack_needs_a_server_and_a_cloud_store(tmp_path: Path) -> None:
    spec = tmp_path / "sm.yaml"
    spec.write_text(STACK)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "kitaru login" in r.stderr
    spec.write_text(STACK.replace('{flavor: s3, path: "s3://acme-agents/kitaru", region: eu-west-1}', "{flavor: local}"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store.flavor" in r.stderr
