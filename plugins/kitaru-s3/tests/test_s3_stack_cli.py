"""An s3 stack registered through the CLI; with the plugin gone it still lists and says why it cannot run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from kitaru.testing._forked import run_kitaru


def kitaru(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_kitaru(list(args), cwd=os.getcwd(), env={**os.environ, **env}, module=True)  # forked `python -m kitaru.cli`


def test_s3_stack_via_cli_and_missing_plugin(tmp_path: Path, moto_url: str, bucket: str) -> None:
    spec = tmp_path / "aws.yaml"
    spec.write_text(f"name: aws\norchestrator: {{flavor: local}}\nartifact_store:\n  flavor: s3\n"
                    f"  path: s3://{bucket}/kitaru\n  endpoint_url: {moto_url}\n  max_attempts: 0\n")
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and f"{spec}:7: artifact_store.max_attempts: Input should be greater than or equal to 1" in r.stderr
    spec.write_text(spec.read_text().replace("  max_attempts: 0\n", "  aws_secret_access_key: abc123plaintext\n"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store.aws_secret_access_key: plaintext secrets are not allowed" in r.stderr
    spec.write_text(spec.read_text().replace("abc123plaintext", "{secret: aws}"))
    assert kitaru("stack", "register", "-f", str(spec), "--activate").returncode == 0
    items = {s["name"]: s for s in json.loads(kitaru("stack", "list", "-o", "json").stdout)["items"]}
    assert items["aws"]["ready"] and items["aws"]["active"]
    r = kitaru("stack", "list", KITARU_DISABLE_PLUGINS="s3")
    assert r.returncode == 0 and "cannot run" in r.stdout and "kitaru-s3" in r.stdout
    r = kitaru("stack", "show", "aws", "-o", "json", KITARU_DISABLE_PLUGINS="s3")
    assert not json.loads(r.stdout)["item"]["ready"]
