"""One behaviour suite, three backends: embedded SQLite, a server on SQLite, a server on PostgreSQL.

Flows live in real files; runner processes re-import them and talk to the same backend
(through the server with an execution-scoped token when connected).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru.client import KitaruClient
from tests.support import ROOT, wait_for

FLOWS = '''
import os, time
import pydantic
import kitaru
from kitaru import checkpoint, flow

class Approval(pydantic.BaseModel):
    approved: bool
    reviewer: str

def _mark(name):
    with open(os.environ["MARKS"], "a") as f:
        f.write(name + "\\n")

@checkpoint
def step(name: str) -> str:
    _mark(name)
    print(f"ran {name}")
    return f"out-{name}"

@flow
def approval_flow(topic: str) -> str:
    draft = step(topic)
    decision = kitaru.wait(schema=Approval, name="review", question=f"Publish {draft}?")
    return f"{step('publish' if decision.approved else 'reject')} by {decision.reviewer}" + _credentials()

def _credentials():
    """What a resumed runner holds: never the caller's API key; with a server, a runtime-scoped token."""
    import json, base64
    if os.environ.get("KITARU_API_KEY"):
        return " (api key leaked to the runner!)"
    token = os.environ.get("KITARU_AUTH_TOKEN")
    if not os.environ.get("KITARU_SERVER_URL"):
        return ""
    body = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return f" [{body['role']}:{body['exec'][:6]}]"

@flow
def chain(n: int = 5) -> list:
    kitaru.log(n=n)
    return [step(f"s{i}") for i in range(n)]

@checkpoint
def slow(i: int) -> int:
    _mark(f"slow{i}")
    time.sleep(float(os.environ.get("STEP_SLEEP", "0.1")))
    return i

@flow
def slow_flow(n: int = 40) -> list:
    return [slow(i) for i in range(n)]

if __name__ == "__main__":
    h = slow_flow.run()
    print(h.exec_id, h.status, flush=True)
'''


@pytest.fixture
def flows(connected: Any, flow_module, monkeypatch: pytest.MonkeyPatch) -> Any:
    # one server serves the whole module: with the cross-execution cache (on by default) a test would reuse the
    # outputs of an earlier test's identical run; these tests are about runs, tests/compat pins the cache
    monkeypatch.setenv("KITARU_CACHE", "0")
    return flow_module(FLOWS, "server_flows")


def flows_connected(flows: Any) -> bool:
    """Whether this test runs against a server."""
    return bool(os.environ.get("KITARU_SERVER_URL"))


def test_run_a_flow_and_inspect_it(flows: Any) -> None:
    handle = flows.chain.run(n=4)
    assert handle.wait(timeout=30) == [f"out-s{i}" for i in range(4)]
    client = KitaruClient()
    ex = client.executions.get(handle.exec_id)
    assert ex.status == "completed" and [c.invocation_id for c in ex.checkpoints] == ["step", "step_2", "step_3",
                                                                                      "step_4"]
    assert ex.metadata == {"n": 4}
    assert handle.exec_id in [e.exec_id for e in client.executions.list(flow="chain", limit=100)]
    assert client.executions.get(handle.exec_id[:10]).exec_id == handle.exec_id  # short id
    lines = [entry.message for entry in client.executions.logs(handle.exec_id)]
    assert [m for m in lines if m.startswith("ran ")] == ["ran s0", "ran s1", "ran s2", "ran s3"]
    assert [a.name for a in client.artifacts.list(handle.exec_id)] == ["step", "step_2", "step_3", "step_4"]
    assert client.artifacts.get(handle.exec_id, "step_2").load() == "out-s1"


def test_wait_answered_from_another_process_resumes_in_a_runner(flows: Any) -> None:
    handle = flows.approval_flow.run(topic="t1")
    assert handle.status == "waiting"
    client = KitaruClient()
    [pending] = client.executions.pending_waits(handle.exec_id)
    assert pending.name == "review" and pending.question == "Publish out-t1?"
    with pytest.raises(kitaru.KitaruWaitValidationError):
        client.executions.input(handle.exec_id, value={"approved": True})
    code = ("from kitaru.client import KitaruClient; import sys;"
            "KitaruClient().executions.input(sys.argv[1], value={'approved': True, 'reviewer': 'bo'})")
    subprocess.run([sys.executable, "-c", code, handle.exec_id], check=True, timeout=60,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    scope = f" [runtime:{handle.exec_id[:6]}]" if flows_connected(flows) else ""
    assert handle.wait(timeout=30) == "out-publish by bo" + scope
    assert flows.marks() == ["t1", "publish"]


def test_replay_reuses_outputs_and_applies_overrides(flows: Any) -> None:
    first = flows.chain.run(n=4)
    first.wait(timeout=30)
    replayed = flows.chain.replay(first.exec_id, from_="step_3", overrides={"checkpoint.step_2": "patched"})
    assert replayed.wait(timeout=30) == ["out-s0", "patched", "out-s2", "out-s3"]
    assert flows.marks() == ["s0", "s1", "s2", "s3", "s2", "s3"]
    ex = KitaruClient().executions.get(replayed.exec_id)
    assert ex.original_exec_id == first.exec_id and ex.replay_from == "step_3"


def test_retry_after_sigkill_of_a_runner(flows: Any, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STEP_SLEEP": "0.03"}
    proc = subprocess.Popen([sys.executable, str(flows.path)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    wait_for(lambda: len(flows.marks()) >= 5 or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    client = KitaruClient()
    ex = client.executions.latest(flow="slow_flow")
    done_before = {c.invocation_id for c in ex.checkpoints if c.status == "completed"}
    wait_for(lambda: client.executions.get(ex.exec_id).status == "failed", timeout=15, interval=0.1)
    assert client.executions.get(ex.exec_id).failure.reason == "runner lost"
    client.executions.retry(ex.exec_id)
    assert client.executions.wait(ex.exec_id, timeout=60) == list(range(40))
    marks = flows.marks()
    for i in range(40):
        inv = "slow" if i == 0 else f"slow_{i + 1}"
        assert marks.count(f"slow{i}") == (1 if inv in done_before else marks.count(f"slow{i}"))
        assert 1 <= marks.count(f"slow{i}") <= 2
    assert client.executions.get(ex.exec_id).runs == 2


def test_cancel_a_running_execution(flows: Any, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STEP_SLEEP": "0.05"}
    proc = subprocess.Popen([sys.executable, str(flows.path)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(flows.marks()) >= 3 or proc.poll() is not None)
    client = KitaruClient()
    ex = client.executions.latest(flow="slow_flow", status="running")
    client.executions.cancel(ex.exec_id)
    out, err = proc.communicate(timeout=30)
    assert "cancelled" in out, err
    final = client.executions.get(ex.exec_id)
    assert final.status == "cancelled" and len(flows.marks()) < 40
