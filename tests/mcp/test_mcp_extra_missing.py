"""Without the `mcp` extra, `kitaru mcp` and `kitaru-mcp` fail loudly with KitaruFeatureNotAvailableError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", [["-m", "kitaru.cli", "mcp"], ["-c", "from kitaru.mcp import main; main([])"]])
def test_missing_mcp_sdk_is_one_clear_error(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['mcp'] = None  # the SDK is not installed\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "KITARU_HOME": str(tmp_path / "h")}
    r = subprocess.run([sys.executable, *command], check=False, input="", capture_output=True, text=True, env=env, timeout=60,
                       cwd=tmp_path)
    assert r.returncode in (1, 2)
    assert "not available in this installation" in r.stderr and "pip install 'kitaru[mcp]'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
