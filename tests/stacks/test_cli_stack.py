"""`kitaru stack …` end to end through the real CLI entry point."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from kitaru.testing._forked import run_kitaru

ROOT = Path(__file__).resolve().parents[2]


def kitaru(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m kitaru.cli ARGS` with the test's environment."""
    full = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), (env or {}).get("PYTHONPATH")])),
            **{k: v for k, v in (env or {}).items() if k != "PYTHONPATH"}}
    return run_kitaru(list(args), cwd=os.getcwd(), env=full, module=True)  # forked `python -m kitaru.cli`


def test_stack_lifecycle_via_cli(tmp_path: Path) -> None:
    spec = tmp_path / "team.yaml"
    spec.write_text(f"name: team\norchestrator: {{flavor: local}}\nartifact_store:\n  flavor: local\n"
                    f"  path: {tmp_path / 'arts'}\n")
    r = kitaru("stack", "register", "-f", str(spec), "-o", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["command"] == "stack.register" and doc["item"]["name"] == "team" and doc["item"]["ready"]
    assert kitaru("stack", "use", "team").returncode == 0
    assert kitaru("stack", "current").stdout.strip() == "team"
    listing = json.loads(kitaru("stack", "list", "-o", "json").stdout)
    assert listing["count"] == 2 and [s["name"] for s in listing["items"] if s["active"]] == ["team"]
    human = kitaru("stack", "list").stdout
    assert "team" in human and "default" in human
    exported = kitaru("stack", "export", "team").stdout
    assert "name: team" in exported and "flavor: local" in exported
    r = kitaru("stack", "delete", "team")
    assert r.returncode == 2 and "is active" in r.stderr
    assert kitaru("stack", "delete", "team", "--force").returncode == 0
    assert kitaru("stack", "current").stdout.strip() == "default"
    r = kitaru("stack", "delete", "default", "-o", "json")
    assert r.returncode == 1 and json.loads(r.stderr)["error"]["message"].startswith("the 'default' stack is built in")


def test_register_errors_point_at_file_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: cloud\norchestrator: {flavor: local}\nartifact_store:\n  flavor: gcs\n  path: gs://b/k\n")
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2
    assert f"{spec}:4: artifact_store.flavor: flavor 'gcs' is provided by kitaru-gcs: pip install kitaru-gcs" in r.stderr \
        or f"{spec}:5: artifact_store.path:" in r.stderr  # kitaru-gcs installed: its config error instead
    assert "cloud" not in kitaru("stack", "list").stdout
