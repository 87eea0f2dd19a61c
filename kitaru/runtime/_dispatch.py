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
    env.update(_server_env(exec_id))
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


def _server_env(exec_id: str) -> dict[str, str]:
    """When connected to a server: its URL and a token scoped to this execution (never the caller's API key)."""
    from kitaru.store import current_state, is_remote

    state = current_state()
    if not is_remote(state):
        return {}
    return {"KITARU_SERVER_URL": state.url, "KITARU_AUTH_TOKEN": state.execution_token(exec_id), "KITARU_API_KEY": ""}
