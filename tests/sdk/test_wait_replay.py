"""Waits answered from another process, replay, divergence and cancel — with real runner processes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru.client import KitaruClient

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
    return f"out-{name}"

@flow
def approval_flow(topic: str) -> str:
    draft = step(topic)
    decision = kitaru.wait(schema=Approval, name="review", question=f"Publish {draft}?", metadata={"topic": topic})
    final = step("publish" if decision.approved else "reject")
    return f"{final} by {decision.reviewer}"

@flow
def chain(n: int = 5) -> list:
    return [step(f"s{i}") for i in range(n)]

@checkpoint
def slow(i: int) -> int:
    time.sleep(0.3)
    _mark(f"slow{i}")
    return i

@flow
def slow_flow() -> list:
    return [slow(i) for i in range(30)]

if __name__ == "__main__":
    h = approval_flow.run(topic="x")
    print(h.exec_id)
'''


@pytest.fixture
def flows(flow_module) -> Any:
    return flow_module(FLOWS, "wait_flows")


def test_wait_suspends_then_answer_resumes_in_a_new_runner_process(flows: Any) -> None:
    handle = flows.approval_flow.run(topic="t1")
    assert handle.status == "waiting"
    client = KitaruClient()
    [pending] = client.executions.pending_waits(handle.exec_id)
    assert pending.name == "review" and pending.question == "Publish out-t1?" and pending.metadata == {"topic": "t1"}
    assert pending.schema["type"] == "object"
    with pytest.raises(kitaru.KitaruStateError):
        handle.get()
    with pytest.raises(kitaru.KitaruWaitValidationError, match="reviewer"):
        client.executions.input(handle.exec_id, value={"approved": True})
    assert len(client.executions.pending_waits(handle.exec_id)) == 1  # a bad answer changes nothing
    client.executions.input(handle.exec_id, wait="review", value={"approved": True, "reviewer": "ana"})
    assert handle.wait(timeout=30) == "out-publish by ana"
    assert flows.marks() == ["t1", "publish"]  # t1 ran once, before the wait


def test_answer_from_a_second_process(flows: Any, tmp_path: Path) -> None:
    import subprocess

    handle = flows.approval_flow.run(topic="t2")
    code = ("from kitaru.client import KitaruClient; import sys;"
            "KitaruClient().executions.input(sys.argv[1], value={'approved': False, 'reviewer': 'bo'})")
    subprocess.run([sys.executable, "-c", code, handle.exec_id], check=True, timeout=30)
    assert handle.wait(timeout=30) == "out-reject by bo"


def test_replay_reuses_outputs_before_the_point_and_overrides(flows: Any) -> None:
    first = flows.chain.run(n=5)
    assert first.wait() == [f"out-s{i}" for i in range(5)]
    replayed = flows.chain.replay(first.exec_id, from_="step_4", overrides={"checkpoint.step_2": "patched"})
    assert replayed.wait() == ["out-s0", "patched", "out-s2", "out-s3", "out-s4"]
    assert flows.marks() == ["s0", "s1", "s2", "s3", "s4", "s3", "s4"]
    ex = KitaruClient().executions.get(replayed.exec_id)
    assert ex.original_exec_id == first.exec_id and ex.replay_from == "step_4"
    assert [c.reused_from for c in ex.checkpoints[:3]] == [first.exec_id, None, first.exec_id]


def test_replay_selector_errors_list_the_choices(flows: Any) -> None:
    first = flows.chain.run(n=3)
    first.wait()
    with pytest.raises(kitaru.KitaruUsageError, match="ambiguous.*step, step_2, step_3"):
        flows.chain.replay(first.exec_id, from_="step")
    with pytest.raises(kitaru.KitaruUsageError, match="choose one of: step, step_2, step_3"):
        flows.chain.replay(first.exec_id, from_="nope")


def test_replay_with_flow_input_override_through_the_client(flows: Any) -> None:
    first = flows.chain.run(n=2)
    first.wait()
    ex = KitaruClient().executions.replay(first.exec_id, from_="step_2", n=3)
    assert KitaruClient().executions.wait(ex.exec_id, timeout=30) == ["out-s0", "out-s1", "out-s2"]


def test_replay_waits_before_the_point_return_recorded_answers(flows: Any) -> None:
    handle = flows.approval_flow.run(topic="w")
    KitaruClient().executions.input(handle.exec_id, value={"approved": True, "reviewer": "cy"})
    handle.wait(timeout=30)
    again = flows.approval_flow.replay(handle.exec_id, from_="step_2")
    assert again.wait(timeout=30) == "out-publish by cy"
    with pytest.raises(kitaru.KitaruUsageError, match="waits cannot be pre-filled"):
        flows.approval_flow.replay(handle.exec_id, from_="step_2", overrides={"checkpoint.review": {}})


def test_divergence_names_expected_and_actual_call(flows: Any, tmp_path: Path) -> None:
    handle = flows.approval_flow.run(topic="d")
    path = tmp_path / "wait_flows.py"
    # the code changes while the execution waits: the body now calls another checkpoint first
    path.write_text(path.read_text().replace("    draft = step(topic)\n", "    kitaru.llm('hi', name='plan')\n    draft = step(topic)\n"))
    KitaruClient().executions.input(handle.exec_id, value={"approved": True, "reviewer": "z"})
    with pytest.raises(kitaru.KitaruDivergenceError, match=r"expected checkpoint 'step' \(step\), but the flow called llm_call 'plan'"):
        handle.wait(timeout=30)
    failure = KitaruClient().executions.get(handle.exec_id).failure
    assert failure.origin == "divergence" and "kitaru executions replay" in failure.message


def test_cancel_running_execution_stops_at_next_checkpoint(flows: Any, tmp_path: Path) -> None:
    import subprocess
    import time

    script = tmp_path / "run_slow.py"
    script.write_text("import wait_flows\nh = wait_flows.slow_flow.run()\nprint(h.status)\n")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": f"{tmp_path}:{Path(kitaru.__file__).parents[1]}"})
    client = KitaruClient()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(flows.marks()) < 2:
        time.sleep(0.05)
    ex = client.executions.latest(flow="slow_flow")
    client.executions.cancel(ex.exec_id)
    out, _ = proc.communicate(timeout=30)
    assert out.strip() == "cancelled"
    assert client.executions.get(ex.exec_id).status == "cancelled"
    assert len(flows.marks()) < 30
    with pytest.raises(kitaru.KitaruExecutionError, match="cancelled"):
        client.executions.wait(ex.exec_id, timeout=5)


def test_cancel_waiting_execution_ends_it_now(flows: Any) -> None:
    handle = flows.approval_flow.run(topic="c")
    KitaruClient().executions.cancel(handle.exec_id)
    assert handle.status == "cancelled"
    assert KitaruClient().executions.pending_waits(handle.exec_id) == []


def test_script_that_runs_flows_at_import_time_gets_a_clear_error_not_a_recursive_run(flow_file, tmp_path: Path) -> None:
    import subprocess

    path = flow_file('''
        import kitaru
        from kitaru import flow

        @flow
        def unguarded() -> str:
            return kitaru.wait(schema=str, question="name?")

        handle = unguarded.run()          # no __main__ guard
        print("STARTED", handle.exec_id, handle.status, flush=True)
    ''', name="unguarded.py")
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(kitaru.__file__).parents[1])}
    out = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    exec_id = out.split()[1]
    KitaruClient().executions.input(exec_id, value="ana")
    with pytest.raises(kitaru.KitaruExecutionError, match="put the call under `if __name__ == \"__main__\":`") as info:
        KitaruClient().executions.wait(exec_id, timeout=30)
    assert info.value.failure_origin == "runtime"
    assert len(KitaruClient().executions.list(flow="unguarded")) == 1  # no recursive run was started


@kitaru.flow(retries=1)
def flaky_flow() -> int:
    FLAKY.append(1)
    if len(FLAKY) == 1:
        raise RuntimeError("first try fails")
    return len(FLAKY)


FLAKY: list[int] = []


def test_flow_retries_rerun_the_body_in_the_same_execution() -> None:
    FLAKY.clear()
    handle = flaky_flow.run()
    assert handle.wait() == 2
    assert KitaruClient().executions.get(handle.exec_id).runs == 2


def test_replay_can_override_an_input_that_was_left_at_its_default(flows: Any) -> None:
    first = flows.chain.run()  # n defaults to 5 and is recorded as an input
    first.wait()
    assert flows.chain.replay(first.exec_id, from_="step_2", n=2).wait() == ["out-s0", "out-s1"]
