"""A kubernetes stack in YAML: errors name the field and its line; a valid one registers and resolves."""

from __future__ import annotations

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
    """Kubernetes stacks live on a Kitaru server (their jobs report there): the CLI is connected to one."""
    if "embedded" in request.keywords:
        yield
        return
    with LocalServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-home") as srv:
        monkeypatch.setenv("KITARU_SERVER_URL", srv.url)
        monkeypatch.setenv("KITARU_API_KEY", srv.admin_key)
        yield


STACK = """\
name: k8s
orchestrator:
  flavor: kubernetes
  namespace: team-a
  context: prod
  image: registry.example.com/agents:1
  active_deadline_seconds: 3600
  pod_settings:
    node_selector: {pool: agents}
    tolerations:
      - {key: dedicated, operator: Equal, value: agents, effect: NoSchedule}
artifact_store: {flavor: s3, path: "s3://acme-agents/kitaru", region: eu-west-1}
"""


def test_stack_yaml_errors_name_the_field_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "k8s.yaml"
    bad = (STACK.replace("  namespace: team-a\n", "")
           .replace("active_deadline_seconds: 3600", "active_deadline_seconds: 0")
           .replace("effect: NoSchedule}", "effect: NoSchedule, tolerationSecond: 5}"))
    spec.write_text(bad)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2, r.stderr
    assert "orchestrator.namespace: Field required" in r.stderr
    assert f"{spec}:6: orchestrator.active_deadline_seconds: Input should be greater than or equal to 1" in r.stderr
    assert "orchestrator.pod_settings.tolerations" in r.stderr and "tolerationSecond" in r.stderr
    spec.write_text(STACK.replace("  context: prod\n", "  context: prod\n  token: plaintext\n"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "orchestrator.token: plaintext secrets are not allowed" in r.stderr
    spec.write_text(STACK.replace("flavor: kubernetes", "flavor: kubernetes\n  namespac: x"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "orchestrator.namespac: Extra inputs are not permitted" in r.stderr


def test_valid_stack_registers_and_lists(tmp_path: Path) -> None:
    spec = tmp_path / "k8s.yaml"
    spec.write_text(STACK)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 0, r.stderr
    r = kitaru("stack", "show", "k8s", "-o", "json")
    assert r.returncode == 0 and '"kubernetes"' in r.stdout and "team-a" in r.stdout


def test_stack_create_from_flags(tmp_path: Path) -> None:
    r = kitaru("stack", "create", "k8s", "--type", "kubernetes", "--artifact-store", "s3://acme-agents/kitaru",
               "--container-registry", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/agents", "--namespace", "team-a",
               "--cluster", "prod", "--region", "eu-west-1",
               "--extra", "orchestrator.pod_settings.node_selector.pool=agents",
               "--extra", "orchestrator.active_deadline_seconds=3600", "-o", "json")
    assert r.returncode == 0, r.stderr
    import json

    spec = json.loads(r.stdout)["item"]["spec"]
    assert spec["orchestrator"] == {"flavor": "kubernetes", "namespace": "team-a", "cluster": "prod",
                                    "region": "eu-west-1", "pod_settings": {"node_selector": {"pool": "agents"}},
                                    "active_deadline_seconds": 3600}
    assert spec["artifact_store"] == {"flavor": "s3", "path": "s3://acme-agents/kitaru"}
    assert spec["container_registry"]["flavor"] == "ecr"
    r = kitaru("stack", "create", "bad", "--type", "kubernetes", "--artifact-store", "s3://acme-agents/kitaru",
               "--extra", 'orchestrator.pod_settings.tolerations=[{"key": "a", "tolerationSecond": 1}]')
    assert r.returncode == 2 and "orchestrator.namespace: Field required" in r.stderr
    assert "orchestrator.pod_settings.tolerations" in r.stderr and "tolerationSecond" in r.stderr
    r = kitaru("stack", "create", "bad", "--type", "kubernetes", "--artifact-store", "gs://b/k", "--namespace", "a")
    assert r.returncode == 2 and "artifact_store" in r.stderr and "kitaru-gcs" in r.stderr  # missing or invalid
    r = kitaru("stack", "create", "bad", "--type", "kubernetes", "--artifact-store", "/tmp/x", "--namespace", "a",
               "--extra", "pod_settings.x=1")
    assert r.returncode == 2 and "COMPONENT.FIELD" in r.stderr
    assert "bad" not in kitaru("stack", "list").stdout


@pytest.mark.embedded
def test_a_kubernetes_stack_needs_a_server_and_a_cloud_store(tmp_path: Path) -> None:
    spec = tmp_path / "k8s.yaml"
    spec.write_text(STACK)
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "kitaru login" in r.stderr and "k8s" not in kitaru("stack", "list").stdout
    spec.write_text(STACK.replace('{flavor: s3, path: "s3://acme-agents/kitaru", region: eu-west-1}', "{flavor: local}"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store.flavor" in r.stderr and "s3://" in r.stderr
