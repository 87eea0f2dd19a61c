"""`kitaru k8s rbac`: the plugin's command through the real `kitaru` CLI of the installed distribution."""

from __future__ import annotations

import json
import subprocess
import sys

import kubernetes_validate
import yaml
from kitaru_k8s import dispatch_rbac


def kitaru(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kitaru.cli", *args], check=False, capture_output=True, text=True, timeout=60)


def test_help_lists_the_plugin_command() -> None:
    r = kitaru("--help")
    assert r.returncode == 0, r.stderr
    assert any(line.strip().startswith("k8s") and "kitaru-k8s" in line for line in r.stdout.splitlines()), r.stdout


def test_rbac_prints_valid_manifests_for_kubectl_apply() -> None:
    r = kitaru("k8s", "rbac", "-n", "team-a", "--service-account", "dispatcher")
    assert r.returncode == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    assert docs == dispatch_rbac("team-a", "dispatcher")
    for doc in docs:
        kubernetes_validate.validate(doc, "1.31", strict=True)
    r = kitaru("k8s", "rbac", "-n", "team-a", "-o", "json")
    doc = json.loads(r.stdout)
    assert (doc["command"], doc["count"]) == ("k8s.rbac", 3) and doc["items"] == dispatch_rbac("team-a")


def test_rbac_rejects_an_invalid_namespace_with_a_usage_error() -> None:
    r = kitaru("k8s", "rbac", "-n", "Bad_NS")
    assert r.returncode == 2 and "--namespace must be a DNS label" in r.stderr, r.stderr
