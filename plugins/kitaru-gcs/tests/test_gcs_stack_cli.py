"""A gcs stack registered through the CLI: validation errors name the field (and line); with the plugin gone
the stack still lists and says why it cannot run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from kitaru.testing._forked import run_kitaru


def kitaru(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_kitaru(list(args), cwd=os.getcwd(), env={**os.environ, **env}, module=True)  # forked `python -m kitaru.cli`


def test_gcs_stack_via_cli_and_missing_plugin(tmp_path: Path, gcs_url: str, bucket: str) -> None:
    spec = tmp_path / "gcp.yaml"
    base = (f"name: gcp\norchestrator: {{flavor: local}}\nartifact_store:\n  flavor: gcs\n"
            f"  path: gs://{bucket}/kitaru\n  endpoint_url: {gcs_url}\n")
    spec.write_text(base + "  chunk_size: 1000000\n")
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and f"{spec}:7: artifact_store.chunk_size:" in r.stderr and "256 KiB" in r.stderr, r.stderr
    spec.write_text(base.replace(f"gs://{bucket}/kitaru", f"s3://{bucket}/kitaru"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store.path:" in r.stderr and "gs://" in r.stderr, r.stderr
    spec.write_text(base + "  retry_deadlin: 5\n")
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store.retry_deadlin:" in r.stderr, r.stderr
    spec.write_text(base + "  service_account_key: '{\"type\": \"service_account\", \"private_key\": \"x\"}'\n")
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store.service_account_key: plaintext secrets are not allowed" in r.stderr
    spec.write_text(base + "  service_account_key: {secret: gcp-sa}\ncontainer_registry:\n  flavor: gcp\n"
                    "  uri: docker.io/library/python\n")
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "container_registry.uri:" in r.stderr and "docker.pkg.dev" in r.stderr, r.stderr
    spec.write_text(spec.read_text().replace("docker.io/library/python", "europe-west1-docker.pkg.dev/proj-123/agents"))
    r = kitaru("stack", "register", "-f", str(spec), "--activate")
    assert r.returncode == 0, r.stderr
    items = {s["name"]: s for s in json.loads(kitaru("stack", "list", "-o", "json").stdout)["items"]}
    assert items["gcp"]["ready"] and items["gcp"]["active"]
    r = kitaru("stack", "list", KITARU_DISABLE_PLUGINS="gcs")
    assert r.returncode == 0 and "cannot run" in r.stdout and "kitaru-gcs" in r.stdout
    r = kitaru("stack", "show", "gcp", "-o", "json", KITARU_DISABLE_PLUGINS="gcs")
    assert not json.loads(r.stdout)["item"]["ready"]
