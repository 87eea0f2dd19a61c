"""`kitaru.memory` in flows: default scopes, journaled calls, and resume/replay seeing the first run's values."""

from __future__ import annotations

from typing import Any

import pytest

import kitaru
from kitaru.client import KitaruClient

FLOWS = '''
import os
import kitaru
from kitaru import checkpoint, flow

def _mark(name):
    with open(os.environ["MARKS"], "a") as f:
        f.write(name + "\\n")

@checkpoint
def remember(seen: int) -> int:
    _mark(f"remember{seen}")
    return seen

@flow
def counter() -> int:
    seen = kitaru.memory.get("counter", 0)
    kitaru.memory.set("counter", seen + 1)
    return remember(seen)

@flow
def greeter() -> dict:
    tone = kitaru.memory.get("tone", "none")
    ok = kitaru.wait(schema=bool, name="go", question="Greet?")
    kitaru.memory.set("greeted", tone)
    return {"tone": tone, "ok": ok}

@checkpoint
def inside() -> str:
    kitaru.memory.set("from_checkpoint", "cp")
    return kitaru.memory.get("from_checkpoint")

@flow
def scopes_flow(kind: str) -> dict:
    if kind != "auto":
        kitaru.memory.configure(scope_type=kind)
    entry = kitaru.memory.set("where", kind)
    return {"scope": entry.scope, "scope_type": entry.scope_type, "exec_id": kitaru.current_execution_id(),
            "cp": inside(), "listed": [e.key for e in kitaru.memory.list()]}
'''


@pytest.fixture
def flows(flow_module) -> Any:
    return flow_module(FLOWS, "memory_flows")


def test_in_a_flow_the_default_scope_is_the_flow_name(flows: Any) -> None:
    out = flows.scopes_flow.run(kind="auto").wait()
    assert (out["scope"], out["scope_type"], out["cp"]) == ("scopes_flow", "flow", "cp")
    assert out["listed"] == ["from_checkpoint", "where"]
    assert kitaru.memory.get("where") is None  # outside the flow: the `default` namespace
    assert kitaru.memory.get("where", scope="scopes_flow") == "auto"
    entry = KitaruClient().memories.get("where", scope="scopes_flow")
    assert entry is not None and entry.exec_id == out["exec_id"]  # the writer is recorded


def test_scope_type_execution_scopes_memory_to_one_execution(flows: Any) -> None:
    out = flows.scopes_flow.run(kind="execution").wait()
    assert (out["scope"], out["scope_type"]) == (out["exec_id"], "execution")
    kitaru.memory.configure()
    assert kitaru.memory.get("where", scope=out["exec_id"]) == "execution"


def test_memory_calls_in_the_body_are_journal_entries_with_deterministic_ids(flows: Any) -> None:
    handle = flows.counter.run()
    assert handle.wait() == 0
    calls = KitaruClient().executions.get(handle.exec_id).checkpoints
    assert [(c.invocation_id, c.type) for c in calls] == [
        ("memory_get", "memory"), ("memory_set", "memory"), ("remember", "checkpoint")]
    assert flows.counter.run().wait() == 1  # memory outlives the execution
    assert kitaru.memory.get("counter", scope="counter") == 2


def test_replay_sees_the_values_the_first_run_saw_and_writes_nothing_again(flows: Any) -> None:
    first = flows.counter.run()
    assert first.wait() == 0
    kitaru.memory.set("counter", 100, scope="counter")  # memory moves on after the run
    replayed = flows.counter.replay(first.exec_id, from_="remember")
    assert replayed.wait() == 0  # memory_get before the replay point returned the recorded value
    history = kitaru.memory.history("counter", scope="counter")
    assert [h.value for h in history] == [100, 1]  # the recorded memory_set was not written again
    assert flows.marks() == ["remember0", "remember0"]


def test_resume_after_a_wait_sees_the_value_read_before_the_wait(flows: Any) -> None:
    kitaru.memory.set("tone", "warm", scope="greeter")
    handle = flows.greeter.run()
    assert handle.status == "waiting"
    kitaru.memory.set("tone", "cold", scope="greeter")  # changed while the execution waits
    KitaruClient().executions.input(handle.exec_id, value=True)
    assert handle.wait(timeout=60) == {"tone": "warm", "ok": True}  # the resumed body re-read the journal
    assert kitaru.memory.get("greeted", scope="greeter") == "warm"
    assert [h.version for h in kitaru.memory.history("greeted", scope="greeter")] == [1]
