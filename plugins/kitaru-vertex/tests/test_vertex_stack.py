"""A vertex stack in YAML and from `kitaru stack create --type vertex`: errors name the field; valid ones register."""

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
    """Vertex stacks live on a Kitaru server (their jobs report there): the CLI is connected to one."""
    if "embedded" in request.keywords:
        yield
        return
    from tests.server.support import pg_database

    url, drop = pg_database()  # the production database of a server
    try:
        with LocalServer(url, tmp_path / "server-home") as srv:
            monkeypatch.setenv("KITARU_SERVER_URL", srv.url)
            monkeypatch.setenv("KITARU_API_KEY", srv.admin_key)
            yield
    finally:
        drop()  # type: ignore[operator]


STACK = """\
name: vertex
orchestrator:
  flavor: vertex
  project: acme-agents
  region: europe-west4
  image: europe-west4-docker.pkg.dev/acme-agents/agents/runtime:1
  machine_type: g2-standard-8
  accelerator_type: NVIDIA_L4
  accelerator_count: 1
  service_account: kitaru-runner@acme-agents.iam.gserviceaccount.com
  dispatch_service_account: kitaru-dispatch@acme-agents.iam.gserviceaccount.com
  timeout_seconds: 7200
  labels: {team: ml}
artifact_store: {flavor: s3, path: "s3://acme-agents/kitaru", region: eu-west-1}
"""


def test_stack_yaml_errors_name_the_field_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "vertex.yaml"
    spec.write_text(STACK.replace("  project: acme-agents\n", "")
                    .replace("timeout_seconds: 7200", "timeout_seconds: 0")
                    .replace("accelerator_count: 1", "accelerator_count: 0"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2, r.stderr
    assert "orchestrator.project: Field required" in r.stderr
    assert f"{spec}:11: orchestrator.timeout_seconds: Input should be greater than or equal to 1" in r.stderr
    spec.write_text(STACK.replace("  region: europe-west4\n", "  region: europe-west4\n  access_token: ya29.plain\n"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "orchestrator.access_token: plaintext secrets are not allowed" in r.stderr
    spec.write_text(STACK.replace("flavor: vertex", "flavor: vertex\n  replica_count: 3"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "orchestrator.replica_count" in r.stderr and "lease" in r.stderr
    spec.write_text(STACK.replace("labels: {team: ml}", "labels: {Team: ML}"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "orchestrator.labels" in r.stderr
    spec.write_text(STACK.replace("flavor: vertex", "flavor: vertex\n  machine: x"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "orchestrator.machine: Extra inputs are not permitted" in r.stderr
    assert "vertex" not in kitaru("stack", "list").stdout.replace("flavor", "")


def test_valid_stack_registers_and_shows(tmp_path: Path) -> None:
    spec = tmp_path / "vertex.yaml"
    spec.write_text(STACK)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 0, r.stderr
    r = kitaru("stack", "show", "vertex", "-o", "json")
    assert r.returncode == 0 and '"vertex"' in r.stdout and "europe-west4" in r.stdout


def test_stack_create_from_flags(tmp_path: Path) -> None:
    r = kitaru("stack", "create", "vx", "--type", "vertex", "--artifact-store", "s3://acme-agents/kitaru",
               "--region", "us-central1", "--extra", "orchestrator.project=acme-agents",
               "--extra", "orchestrator.machine_type=n1-highmem-8", "--extra", "orchestrator.timeout_seconds=3600",
               "-o", "json")
    assert r.returncode == 0, r.stderr
    spec = json.loads(r.stdout)["item"]["spec"]
    assert spec["orchestrator"] == {"flavor": "vertex", "region": "us-central1", "project": "acme-agents",
                                    "machine_type": "n1-highmem-8", "timeout_seconds": 3600}
    r = kitaru("stack", "create", "bad", "--type", "vertex", "--artifact-store", "s3://acme-agents/kitaru",
               "--region", "us-central1")
    assert r.returncode == 2 and "orchestrator.project: Field required" in r.stderr
    r = kitaru("stack", "create", "bad", "--type", "vertex", "--artifact-store", "s3://acme-agents/kitaru",
               "--region", "Mars", "--extra", "orchestrator.project=acme-agents")
    assert r.returncode == 2 and "orchestrator.region" in r.stderr and "us-central1" in r.stderr
    r = kitaru("stack", "create", "bad", "--type", "vertex", "--artifact-store", "s3://acme-agents/kitaru",
               "--region", "us-central1", "--namespace", "x", "--extra", "orchestrator.project=acme-agents")
    assert r.returncode == 2 and "orchestrator.namespace: Extra inputs are not permitted" in r.stderr
    assert "bad" not in kitaru("stack", "list").stdout


@pytest.mark.embedded
def test_a_vertex_stack_needs_a_server_and_a_cloud_store(tmp_path: Path) -> None:
    spec = tmp_path / "vertex.yaml"
    spec.write_text(STACK)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "kitaru login" in r.stderr
    spec.write_text(STACK.replace('{flavor: s3, path: "s3://acme-agents/kitaru", region: eu-west-1}',
                                  "{flavor: local}"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store.flavor" in r.stderr
