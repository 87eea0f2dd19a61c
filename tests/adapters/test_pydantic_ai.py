"""The PydanticAI adapter against real flows: model requests and tool calls are journaled steps, so a crash, a
pause for a human or a replay continues without repeating paid calls or tool side effects."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru.client import KitaruClient
from tests.support import ROOT, on_backend, wait_for

pytest.importorskip("pydantic_ai")

FLOWS = '''
import asyncio, os, signal
import pydantic
import kitaru
from kitaru import checkpoint, flow
from kitaru.adapters import pydantic_ai as kp
from pydantic_ai import Agent
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.models.test import TestModel

def _note(var, line):
    with open(os.environ[var], "a") as f:
        f.write(line + "\\n")

def _returns(messages):
    return [p.content for m in messages for p in m.parts if isinstance(p, ToolReturnPart)]

def charging_model(messages, info):
    """Request n (1-based) asks for charge(n) until 7 charges were made; dies once on request 6."""
    n = sum(1 for m in messages if m.kind == "response") + 1
    _note("CALLS", f"model{n}")
    if n == 6 and os.environ.get("CRASH_MARK") and not os.path.exists(os.environ["CRASH_MARK"]):
        open(os.environ["CRASH_MARK"], "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    if n <= 7:
        return ModelResponse(parts=[ToolCallPart("charge", {"step": n})])
    return ModelResponse(parts=[TextPart(",".join(map(str, _returns(messages))))])

biller = Agent(FunctionModel(charging_model), name="biller")

@biller.tool_plain
def charge(step: int) -> str:
    """Charge the card for one step (a side effect)."""
    _note("SIDE", f"charge{step}")
    return f"receipt-{step}"

durable_biller = kp.wrap(biller)

@flow
def billing(prompt: str) -> str:
    return durable_biller.run_sync(prompt).output

def two_tools_model(messages, info):
    n = sum(1 for m in messages if m.kind == "response") + 1
    _note("CALLS", f"model{n}")
    if n == 1:
        return ModelResponse(parts=[ToolCallPart("lookup", {"city": "Paris"}), ToolCallPart("secret", {"key": "k1"}),
                                    ToolCallPart("clock", {})])
    return ModelResponse(parts=[TextPart("|".join(map(str, _returns(messages))))])

helper = Agent(FunctionModel(two_tools_model), name="helper")

@helper.tool_plain
def lookup(city: str) -> dict:
    _note("SIDE", f"lookup-{city}")
    return {"city": city, "temp": 21}

@helper.tool_plain
def secret(key: str) -> str:
    _note("SIDE", f"secret-{key}")
    return "s3cr3t"

@helper.tool_plain
def clock() -> str:
    _note("SIDE", "clock")
    return "noon"

durable_helper = kp.wrap(helper, tool_capture_config={"mode": "full"},
                         tool_capture_config_by_name={"secret": {"mode": "metadata_only"}, "clock": {"mode": "off"}})

@flow
def helping() -> str:
    return durable_helper.run_sync("go").output

class Decision(pydantic.BaseModel):
    approved: bool
    by: str

def approval_model(messages, info):
    n = sum(1 for m in messages if m.kind == "response") + 1
    _note("CALLS", f"model{n}")
    if n == 1:
        return ModelResponse(parts=[ToolCallPart("approve_refund", {"amount": 40})])
    return ModelResponse(parts=[TextPart(f"decision={_returns(messages)[-1]}")])

refunds = Agent(FunctionModel(approval_model), name="refunds")

@refunds.tool_plain
@kp.hitl_tool(question="Refund {amount} EUR?", schema=Decision)
def approve_refund(amount: int) -> Decision:
    """Ask a human whether to refund."""

durable_refunds = kp.wrap(refunds)

@flow
def refunding() -> str:
    return durable_refunds.run_sync("refund order 7").output

echo_agent = Agent(TestModel(), name="echo bot")

@echo_agent.tool_plain
def shout(text: str) -> str:
    _note("SIDE", f"shout-{text}")
    return text.upper()

durable_echo = kp.wrap(echo_agent)

@flow
def streaming() -> str:
    async def go():
        async with durable_echo.run_stream("hello") as stream:
            return await stream.get_output()
    return asyncio.run(go())

@checkpoint
def agent_in_checkpoint() -> str:
    return durable_echo.run_sync("inside").output

@flow
def coarse() -> str:
    return agent_in_checkpoint()

def flaky_model(messages, info):
    n = sum(1 for m in messages if m.kind == "response") + 1
    _note("CALLS", f"model{n}")
    if n == 2 and not os.path.exists(os.environ["FLAKY_MARK"]):
        open(os.environ["FLAKY_MARK"], "w").close()
        raise ConnectionError("provider is down")
    if n == 1:
        return ModelResponse(parts=[ToolCallPart("charge_once", {"step": 1})])
    return ModelResponse(parts=[TextPart(f"ok {_returns(messages)}")])

flaky = Agent(FunctionModel(flaky_model), name="flaky")

@flaky.tool_plain
def charge_once(step: int) -> str:
    _note("SIDE", f"charge{step}")
    return f"receipt-{step}"

durable_flaky = kp.wrap(flaky)

@flow
def flaky_flow() -> str:
    return durable_flaky.run_sync("go").output

def slow_model(messages, info):
    import time
    time.sleep(2.0)
    return ModelResponse(parts=[TextPart("late")])

durable_slow = kp.wrap(Agent(FunctionModel(slow_model), name="slow"))

@flow
def slow_flow() -> str:
    return durable_slow.run_sync("x").output

def picky_model(messages, info):
    n = sum(1 for m in messages if m.kind == "response") + 1
    _note("CALLS", f"model{n}")
    if n <= 2:
        return ModelResponse(parts=[ToolCallPart("set_qty", {"qty": -1 if n == 1 else 3})])
    return ModelResponse(parts=[TextPart(f"set {_returns(messages)[-1]}")])

picky = Agent(FunctionModel(picky_model), name="picky")

@picky.tool_plain
def set_qty(qty: int) -> int:
    from pydantic_ai import ModelRetry
    _note("SIDE", f"qty{qty}")
    if qty < 0:
        raise ModelRetry("qty must be >= 0")
    return qty

durable_picky = kp.wrap(picky)

@flow
def picky_flow() -> str:
    return durable_picky.run_sync("go").output

@checkpoint
def hitl_in_checkpoint() -> str:
    return durable_refunds.run_sync("refund inside a checkpoint").output

@flow
def misplaced_hitl() -> str:
    return hitl_in_checkpoint()

if __name__ == "__main__":
    print(billing.run("bill me").exec_id, flush=True)
'''


@pytest.fixture
def flows(flow_module: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for var in ("CALLS", "SIDE"):
        path = tmp_path / f"{var.lower()}.txt"
        path.touch()
        monkeypatch.setenv(var, str(path))  # runner processes started by the client inherit these
    module = flow_module(FLOWS, "pai_flows")
    module.calls = lambda: (tmp_path / "calls.txt").read_text().split()
    module.side = lambda: (tmp_path / "side.txt").read_text().split()
    return module


@pytest.fixture(params=["embedded", "postgresql"])
def backend(request: pytest.FixtureRequest, kitaru_home: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The key durability tests also run against a fresh server on PostgreSQL (runners report over HTTP)."""
    with on_backend(request.param, tmp_path, monkeypatch):
        yield request.param


def _steps(exec_id: str) -> dict[str, Any]:
    return {c.invocation_id: c for c in KitaruClient().executions.get(exec_id).checkpoints}


def _artifact_names(exec_id: str) -> set[str]:
    return {a.name for a in KitaruClient().artifacts.list(exec_id)}


def test_wrapped_agent_journals_every_model_request_and_tool_call(flows: Any, backend: str) -> None:
    handle = flows.billing.run("bill me")
    receipts = ",".join(f"receipt-{i}" for i in range(1, 8))
    assert handle.wait() == receipts
    steps = _steps(handle.exec_id)
    assert list(steps) == [x for i in range(1, 8) for x in (f"biller_model_{i}", "biller_tool_charge" if i == 1
                           else f"biller_tool_charge_{i}")] + ["biller_model_8"]
    first = steps["biller_model_1"]
    assert first.type == "llm_call" and first.status == "completed"
    assert first.metadata["pydantic_ai"]["tool_calls"] == ["charge"]
    usage = first.metadata["llm_calls"]["biller_model_1"]
    assert usage["tokens_input"] > 0 and usage["total_tokens"] == usage["tokens_input"] + usage["tokens_output"]
    tool = steps["biller_tool_charge_3"]
    assert tool.type == "tool_call" and tool.metadata["pydantic_ai"]["args"] == {"step": 3}
    assert {"biller_tool_charge_3_args", "biller_tool_charge_3_result"} <= _artifact_names(handle.exec_id)
    [summary] = KitaruClient().executions.get(handle.exec_id).metadata["pydantic_ai_run_summaries"]
    assert summary["agent"] == "biller" and summary["status"] == "completed"
    assert summary["model_requests"] == 8 and summary["tool_calls"] == 7 and summary["replayed_steps"] == 0
    assert summary["model_steps"][-1] == "biller_model_8" and receipts in summary["output_preview"]
    assert flows.calls() == [f"model{i}" for i in range(1, 9)]


def test_tool_capture_modes_full_metadata_only_and_off(flows: Any) -> None:
    handle = flows.helping.run()
    assert handle.wait() == "{'city': 'Paris', 'temp': 21}|s3cr3t|noon"
    steps = _steps(handle.exec_id)
    assert list(steps) == ["helper_model_1", "helper_tool_lookup", "helper_tool_secret", "helper_model_2"]
    assert steps["helper_tool_lookup"].metadata["pydantic_ai"]["args"] == {"city": "Paris"}
    secret_md = steps["helper_tool_secret"].metadata["pydantic_ai"]
    assert secret_md["capture"] == "metadata_only" and secret_md["arg_names"] == ["key"]
    assert "args" not in secret_md and "result_preview" not in secret_md and "k1" not in repr(secret_md)
    names = _artifact_names(handle.exec_id)
    assert {"helper_tool_lookup_args", "helper_tool_lookup_result"} <= names
    assert not any(n.startswith("helper_tool_secret_") or "clock" in n for n in names)


def test_bad_configuration_is_refused() -> None:
    from pydantic_ai import Agent
    from pydantic_ai.models.test import TestModel

    from kitaru.adapters import pydantic_ai as kp

    with pytest.raises(kitaru.KitaruUsageError, match="pydantic_ai.Agent"):
        kp.wrap(object())
    with pytest.raises(kitaru.KitaruUsageError, match="full"):
        kp.wrap(Agent(TestModel()), tool_capture_config={"mode": "everything"})
    with pytest.raises(kitaru.KitaruUsageError, match="by_name"):
        kp.wrap(Agent(TestModel()), tool_capture_config_by_name={"t": {"mode": "sometimes"}})


def test_outside_a_flow_the_wrapped_agent_is_the_agent(flows: Any) -> None:
    assert flows.durable_echo.run_sync("x").output == '{"shout":"A"}'
    assert KitaruClient().executions.list() == []


def test_streamed_request_is_journaled_with_a_stream_transcript(flows: Any) -> None:
    handle = flows.streaming.run()
    assert handle.wait() == '{"shout":"A"}'
    steps = _steps(handle.exec_id)
    assert list(steps) == ["echo_bot_model_1", "echo_bot_tool_shout", "echo_bot_model_2"]
    assert steps["echo_bot_model_1"].metadata["pydantic_ai"]["streamed"] is True
    transcripts = {a.name: a for a in KitaruClient().artifacts.list(handle.exec_id)
                   if a.name.endswith("_stream_transcript")}
    assert set(transcripts) == {"echo_bot_model_1_stream_transcript", "echo_bot_model_2_stream_transcript"}
    events = transcripts["echo_bot_model_2_stream_transcript"].load()
    assert events and all("event_kind" in e for e in events)
    [summary] = KitaruClient().executions.get(handle.exec_id).metadata["pydantic_ai_run_summaries"]
    assert summary["streamed_requests"] == 2


def test_agent_inside_a_checkpoint_is_recorded_on_that_checkpoint(flows: Any) -> None:
    handle = flows.coarse.run()
    assert handle.wait() == '{"shout":"A"}'
    [step] = KitaruClient().executions.get(handle.exec_id).checkpoints
    assert step.invocation_id == "agent_in_checkpoint"
    [summary] = step.metadata["pydantic_ai_run_summaries"]
    assert summary["model_requests"] == 0 and summary["usage"]["requests"] == 2
    kinds = [c["kind"] for c in step.metadata["pydantic_ai_calls"].values()]
    assert kinds == ["model_request", "tool_call", "model_request"]


def test_hitl_tool_pauses_the_flow_and_the_answer_resumes_it(flows: Any, backend: str) -> None:
    handle = flows.refunding.run()
    assert handle.status == "waiting"
    client = KitaruClient()
    [pending] = client.executions.pending_waits(handle.exec_id)
    assert pending.name == "approve_refund" and pending.question == "Refund 40 EUR?"
    assert pending.schema["type"] == "object" and pending.metadata["tool_args"] == {"amount": 40}
    with pytest.raises(kitaru.KitaruWaitValidationError):
        client.executions.input(handle.exec_id, value={"approved": "maybe"})
    client.executions.input(handle.exec_id, wait="approve_refund", value={"approved": True, "by": "ana"})
    assert handle.wait(timeout=60) == "decision=approved=True by='ana'"
    assert flows.calls() == ["model1", "model2"]  # the first request was not sent again after the pause
    steps = _steps(handle.exec_id)
    assert list(steps) == ["refunds_model_1", "approve_refund", "refunds_model_2"]
    assert steps["approve_refund"].type == "wait"


def test_crash_after_the_fifth_request_resumes_at_the_sixth(flows: Any, tmp_path: Path, backend: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRASH_MARK", str(tmp_path / "crashed"))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{flows.path.parent}"}
    proc = subprocess.run([sys.executable, str(flows.path)], check=False, env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert flows.calls() == [f"model{i}" for i in range(1, 7)] and len(flows.side()) == 5
    client = KitaruClient()
    ex = client.executions.latest(flow="billing")
    done = {c.invocation_id for c in ex.checkpoints if c.status == "completed"}
    assert "biller_model_5" in done and "biller_tool_charge_5" in done and "biller_model_6" not in done
    wait_for(lambda: client.executions.get(ex.exec_id).status == "failed", timeout=20, interval=0.1)
    client.executions.retry(ex.exec_id)
    assert client.executions.wait(ex.exec_id, timeout=60) == ",".join(f"receipt-{i}" for i in range(1, 8))
    # requests 1-5 were paid once; request 6 was in flight at the crash, so it ran again; 7 and 8 once
    assert flows.calls() == [f"model{i}" for i in range(1, 7)] + ["model6", "model7", "model8"]
    assert flows.side() == [f"charge{i}" for i in range(1, 8)]  # every side effect exactly once
    summaries = client.executions.get(ex.exec_id).metadata["pydantic_ai_run_summaries"]
    assert summaries[-1]["replayed_steps"] == 10 and summaries[-1]["status"] == "completed"


def test_replay_from_a_model_request_reuses_what_came_before(flows: Any) -> None:
    first = flows.billing.run("bill me")
    first.wait()
    flows_calls_before = len(flows.calls())
    replay = flows.billing.replay(first.exec_id, from_="biller_model_4")
    assert replay.wait(timeout=60) == ",".join(f"receipt-{i}" for i in range(1, 8))
    assert flows.calls()[flows_calls_before:] == ["model4", "model5", "model6", "model7", "model8"]
    assert flows.side() == [f"charge{i}" for i in range(1, 8)] + [f"charge{i}" for i in range(4, 8)]
    steps = _steps(replay.exec_id)
    before = ["biller_model_1", "biller_tool_charge", "biller_model_2", "biller_tool_charge_2", "biller_model_3",
              "biller_tool_charge_3"]
    assert all(steps[s].reused_from == first.exec_id for s in before)
    assert steps["biller_model_4"].reused_from is None and steps["biller_model_8"].status == "completed"
    assert KitaruClient().executions.get(replay.exec_id).original_exec_id == first.exec_id


def test_failed_model_request_is_recorded_and_retry_sends_only_that_one_again(
        flows: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAKY_MARK", str(tmp_path / "flaky"))
    handle = flows.flaky_flow.run()
    with pytest.raises(kitaru.KitaruExecutionError, match="provider is down"):
        handle.wait()
    steps = _steps(handle.exec_id)
    assert steps["flaky_model_1"].status == "completed" and steps["flaky_model_2"].status == "failed"
    kinds = [s.metadata["pydantic_ai"]["kind"] for s in steps.values()]
    assert kinds == ["model_request", "tool_call", "model_request"]
    [summary] = KitaruClient().executions.get(handle.exec_id).metadata["pydantic_ai_run_summaries"]
    assert summary["status"] == "failed" and "provider is down" in summary["error"]
    client = KitaruClient()
    client.executions.retry(handle.exec_id)
    assert client.executions.wait(handle.exec_id, timeout=60) == "ok ['receipt-1']"
    assert flows.calls() == ["model1", "model2", "model2"] and flows.side() == ["charge1"]


def test_a_slow_model_request_shows_as_running_while_awaited(flows: Any) -> None:
    import threading

    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(flows.slow_flow.run().wait()))
    runner.start()
    try:
        def running() -> bool:
            ex = KitaruClient().executions.list(flow="slow_flow")
            return bool(ex) and any(c.invocation_id == "slow_model_1" and c.status == "running"
                                    for c in KitaruClient().executions.get(ex[0].exec_id).checkpoints)
        wait_for(running, timeout=10, interval=0.05)
    finally:
        runner.join(timeout=30)
    assert result == ["late"]


def test_a_tool_asking_the_model_to_retry_is_journaled_as_a_failed_attempt(flows: Any) -> None:
    handle = flows.picky_flow.run()
    assert handle.wait() == "set 3"
    steps = _steps(handle.exec_id)
    assert [(k, v.status) for k, v in steps.items()] == [
        ("picky_model_1", "completed"), ("picky_tool_set_qty", "failed"), ("picky_model_2", "completed"),
        ("picky_tool_set_qty_2", "completed"), ("picky_model_3", "completed")]
    assert flows.side() == ["qty-1", "qty3"]


def test_a_hitl_tool_inside_a_checkpoint_is_refused(flows: Any) -> None:
    handle = flows.misplaced_hitl.run()
    with pytest.raises(kitaru.KitaruExecutionError, match="cannot be called inside checkpoint"):
        handle.wait()
    assert KitaruClient().executions.pending_waits(handle.exec_id) == []


def test_import_kitaru_does_not_load_pydantic_ai() -> None:
    code = "import sys, kitaru, kitaru.adapters.pydantic_ai; print('pydantic_ai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False", out.stderr
