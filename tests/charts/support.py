"""The real `helm` binary and a renderer for charts/kitaru (skips locally without helm, fails in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "kitaru"
NAMESPACE = "kitaru"
RELEASE = "prod"
VALUES_FILES = ["values.yaml", "ci/postgres-ingress.yaml", "ci/workload-identity.yaml", "ci/multi-namespace.yaml"]
INSTALL_HINT = "bash scripts/install_helm.sh .ci/.cache/helm (scripts/test.sh does this)"


def find_helm() -> str | None:
    """KITARU_HELM, the CI cache under .ci/.cache/helm, else `helm` on PATH."""
    for candidate in (os.environ.get("KITARU_HELM"), str(ROOT / ".ci/.cache/helm/helm/helm"), shutil.which("helm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def helm() -> str:
    """The helm binary; in CI (KITARU_CI=1) its absence is a failure, not a skip."""
    found = find_helm()
    if found is None:
        if os.environ.get("KITARU_CI") == "1":
            pytest.fail(f"helm is required in CI but was not found: {INSTALL_HINT}")
        pytest.skip(f"helm is not installed: {INSTALL_HINT}")
    return found


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run helm offline with a private home (no repositories, no network)."""
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/kitaru-helm/cache", "HELM_CONFIG_HOME": "/tmp/kitaru-helm/config",
           "HELM_DATA_HOME": "/tmp/kitaru-helm/data"}
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=120, env=env, check=False)


@cache
def _template(helm: str, values: tuple[str, ...], sets: tuple[str, ...]) -> tuple[int, str, str]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", "1.31.0"]
    for v in values:
        args += ["-f", str(CHART / v)]
    for s in sets:
        args += ["--set", s]
    proc = run_helm(helm, *args)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture()
def render(helm: str) -> Callable[..., list[dict[str, Any]]]:
    """render("ci/x.yaml", sets=["a=b"]) -> the rendered manifests; a failed render fails the test."""
    def _render(*values: str, sets: tuple[str, ...] | list[str] = ()) -> list[dict[str, Any]]:
        code, out, err = _template(helm, tuple(values), tuple(sets))
        assert code == 0, f"helm template failed: {err}"
        return [d for d in yaml.safe_load_all(out) if d]
    return _render


@pytest.fixture()
def render_error(helm: str) -> Callable[..., str]:
    """render_error(sets=[...]) -> helm's error message; the render must fail."""
    def _render_error(*values: str, sets: tuple[str, ...] | list[str] = ()) -> str:
        code, out, err = _template(helm, tuple(values), tuple(sets))
        assert code != 0, f"the render should have failed but produced:\n{out[:2000]}"
        return " ".join(err.split())
    return _render_error
