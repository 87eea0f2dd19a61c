"""Start a detached runner process for an execution (the local orchestrator's submit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def spawn_runner(exec_id: str, *, owner: str, home: Path, cwd: str | None = None) -> subprocess.Popen[Any]:
    """Run `python -m kitaru.runtime EXEC_ID` detached; it inherits the lease held by `owner`."""
    logs = home / "runners"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KITARU_HOME": str(home), "KITARU_RUNNER_OWNER": owner}
    env.pop("KITARU_INTERACTIVE", None)
    with open(logs / f"{exec_id}.log", "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kitaru.runtime", exec_id],
            cwd=cwd if cwd and os.path.isdir(cwd) else None,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
