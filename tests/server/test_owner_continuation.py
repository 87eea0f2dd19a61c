"""Whose machine runs the code: answering, resuming or retrying someone else's execution never starts a runner
on the answerer's machine; the owner's `kitaru executions resume` continues it (server on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru.testing._forked import run_kitaru
from tests.server.support import ADMIN_KEY, ServerProcess, start_server
from tests.support import ROOT, http

FLOW = '''
import os
import pydantic
import kitaru
from kitaru import checkpoint, flow

class Approval(pydantic.BaseModel):
    approved: bool
    reviewer: str

@checkpoint
def step(name: str) -> str:
    with open(os.environ["MARKS"], "a") as f:
        f.write(f"{name}@{os.environ['WHO']}\\n")
    return f"out-{name}"

@flow
def approval(topic: str) -> str:
    step(topic)
    decision = kitaru.wait(schema=Approval, name="review", question="Publish?")
    return f"{step('publish')} by {decision.reviewer}"

if __name__ == "__main__":
    handle = approval.run(topic="t")
    print(handle.exec_id, handle.status, flush=True)
'''


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    found, cleanup = start_server(request.param, tmp_path_factory.mktemp(f"owner-{request.param}"))
    yield found
    cleanup()  # type: ignore[operator]


def _member_key(server: ServerProcess, name: str) -> str:
    admin = {"Authorization": f"Bearer {server.token()}"}
    http.post(f"{server.url}/api/v1/users", json={"name": name, "role": "member"}, headers=admin).raise_for_status()
    created = http.post(f"{server.url}/api/v1/api-keys", json={"principal": name}, headers=admin)
    return str(created.json()["api_key"])


def test_only_the_owner_continues_an_execution_whoever_answers_it(server: ServerProcess, tmp_path: Path) -> None:
    name = f"mia{os.getpid()}{int(time.time() * 1000) % 100000}"
    flow, marks = tmp_path / "owner_flow.py", tmp_path / "marks.txt"
    flow.write_text(FLOW)
    marks.touch()
    base = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    base.update(PYTHONPATH=str(ROOT), MARKS=str(marks), KITARU_SERVER_URL=server.url, KITARU_INTERACTIVE="0",
                XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    mia = {**base, "KITARU_API_KEY": _member_key(server, name), "KITARU_HOME": str(tmp_path / "mia"), "WHO": "mia"}
    admin = {**base, "KITARU_API_KEY": ADMIN_KEY, "KITARU_HOME": str(tmp_path / "admin"), "WHO": "admin"}

    def kitaru(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        """A `kitaru` command, forked from the warm zygote, that must succeed."""
        done = run_kitaru(list(args), cwd=tmp_path, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return done

    def status(env: dict[str, str]) -> dict[str, Any]:
        return json.loads(kitaru(env, "executions", "get", exec_id, "-o", "json").stdout)["item"]

    started = subprocess.run([sys.executable, str(flow)], env=mia, cwd=tmp_path, capture_output=True, text=True,
                             timeout=120)
    assert started.returncode == 0, started.stderr
    exec_id, state = started.stdout.split()
    assert state == "waiting"

    answered = kitaru(admin, "executions", "input", exec_id, "--value", '{"approved": true, "reviewer": "bo"}')
    assert f"started by {name}" in answered.stderr and "never on this machine" in answered.stderr
    assert f"kitaru executions resume {exec_id}" in answered.stderr
    resumed = kitaru(admin, "executions", "resume", exec_id)
    assert "requested (recorded)" in resumed.stdout + resumed.stderr
    # no runner was started on the admin's machine: one would have been, with its job directory, before the
    # command returned (nothing of the admin's runs once it has)
    assert not (tmp_path / "admin" / "jobs").exists()
    seen = status(admin)
    assert seen["status"] == "waiting" and seen["owner"] == name
    assert seen["metadata"]["continue_requested"]["by"] == "admin"
    assert marks.read_text().split() == ["t@mia"]
    shown = kitaru(admin, "executions", "get", exec_id)
    assert f"started by {name}" in shown.stderr
    assert "started by" not in kitaru(mia, "executions", "get", exec_id).stderr

    kitaru(mia, "executions", "resume", exec_id)  # the owner continues it, on the owner's machine
    deadline = time.monotonic() + 60
    while status(mia)["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.3)
    assert status(mia)["status"] == "completed"
    assert marks.read_text().split() == ["t@mia", "publish@mia"]
    assert list((tmp_path / "mia" / "jobs").glob(f"{exec_id}-*/log"))  # the owner's resume ran it on their machine
