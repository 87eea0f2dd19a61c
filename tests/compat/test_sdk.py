"""Kitaru 0.4 compatibility: SDK behaviour (issue 12, "SDK behaviour")."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru
from kitaru.checkpoint import CheckpointRuntime
from kitaru.client import ExecutionStatus, KitaruClient

# ---------------------------------------------------------------- @checkpoint options and call forms


@pytest.mark.parametrize("runtime", ["inline", "INLINE", "Isolated", CheckpointRuntime.ISOLATED, None])
def test_checkpoint_runtime_is_case_insensitive_and_accepts_the_enum(runtime: object) -> None:
    cp = kitaru.checkpoint(runtime=runtime)(lambda: 1)
    assert isinstance(cp.runtime, CheckpointRuntime)
    assert cp.runtime == (str(runtime).lower() if runtime is not None else "inline")


def test_checkpoint_rejects_a_bad_runtime_or_option_at_decoration() -> None:
    with pytest.raises(kitaru.KitaruUsageError, match="runtime"):
        kitaru.checkpoint(runtime="remote")
    with pytest.raises(kitaru.KitaruUsageError, match="retries"):
        kitaru.checkpoint(retries=-1)(lambda: 1)
    with pytest.raises(kitaru.KitaruUsageError, match="unknown @checkpoint option"):
        kitaru.checkpoint(retry=1)


_order: list[str] = []
_lock = threading.Lock()


def _mark(tag: str) -> None:
    with _lock:
        _order.append(tag)


@kitaru.checkpoint
def slow(tag: str, delay: float = 0.0) -> str:
    time.sleep(delay)
    _mark(tag)
    return tag


@kitaru.checkpoint
def join(*parts: str, sep: str = "+") -> str:
    _mark("join")
    return sep.join(parts)


@kitaru.flow
def ordered() -> dict[str, object]:
    first = slow.submit("a", 0.3, id="first")
    second = slow.submit("b", after=first)  # must not start before `first` finished
    third = join("x", "y", id="joined", after=[first, second])  # a plain call waits for both
    mapped = slow.map(["m1", "m2"], after=second, delay=0.0)
    prod = join.product(["p", "q"], ["1", "2"], sep="-")
    return {"second": second.result(), "third": third, "mapped": mapped.result(), "product": prod.result()}


@pytest.fixture
def order() -> Iterator[list[str]]:
    _order.clear()
    yield _order
    _order.clear()


def test_id_after_submit_map_product(order: list[str]) -> None:
    handle = ordered.run()
    out = handle.wait()
    assert out == {"second": "b", "third": "x+y", "mapped": ["m1", "m2"], "product": ["p-1", "p-2", "q-1", "q-2"]}
    assert order.index("a") < order.index("b") < order.index("m1")
    assert order.index("b") < order.index("join")
    ex = KitaruClient().executions.get(handle.exec_id)
    ids = [c.invocation_id for c in ex.checkpoints]
    assert ids[:3] == ["first", "slow", "joined"]  # explicit ids; `id`/`after` never reached the functions
    assert sorted(ids) == sorted(["first", "slow", "joined", "slow_2", "slow_3", "join", "join_2", "join_3",
                                  "join_4"])


@kitaru.checkpoint
def takes_after(after: str) -> str:
    return f"after={after}"


@kitaru.flow
def own_after() -> str:
    return takes_after(after="mine")


def test_a_function_that_declares_after_receives_it() -> None:
    assert own_after.run().wait() == "after=mine"


# ---------------------------------------------------------------- cache=True across executions


@kitaru.checkpoint
def counted(x: int) -> int:
    _mark(f"counted:{x}")
    return x * 10


@kitaru.flow
def cached_flow(x: int) -> int:
    return counted(x)


@kitaru.flow
def other_flow(x: int) -> int:
    return counted(x)


def test_cache_is_on_by_default_per_flow_code_and_inputs(order: list[str]) -> None:
    assert cached_flow.run(1).wait() == 10
    assert cached_flow.run(1).wait() == 10  # same flow, code and inputs: reused
    assert order == ["counted:1"]
    assert cached_flow.run(2).wait() == 20  # other inputs: runs
    assert other_flow.run(1).wait() == 10  # another flow: runs
    assert cached_flow.run(1, cache=False).wait() == 10  # turned off for one run: runs
    assert order == ["counted:1", "counted:2", "counted:1", "counted:1"]


@kitaru.flow
def gated() -> str:
    kitaru.wait(name="gate", question="go?")
    return "went"


def test_waits_are_never_cached() -> None:
    client = KitaruClient()
    first = gated.run()
    assert first.status == "waiting"
    client.executions.input(first.exec_id, value=True)
    assert first.wait(timeout=60) == "went"
    second = gated.run()  # identical flow and inputs: the wait still asks
    assert second.status == ExecutionStatus.WAITING
    assert [w.name for w in client.executions.pending_waits(second.exec_id)] == ["gate"]
    client.executions.abort_wait(second.exec_id)


# ---------------------------------------------------------------- FlowHandle.status, wait(schema=None)


def test_flow_handle_status_is_a_str_enum_with_is_finished() -> None:
    handle = cached_flow.run(3)
    handle.wait()
    status = handle.status
    assert isinstance(status, ExecutionStatus) and isinstance(status, str)
    assert status == "completed" and status.value == "completed" and f"{status}" == "completed"
    assert status.is_finished and not ExecutionStatus.WAITING.is_finished


@kitaru.flow
def approve() -> object:
    plain = kitaru.wait(name="plain")
    typed = kitaru.wait(schema=bool, name="typed")
    return {"plain": plain, "typed": typed}


def test_wait_without_schema_returns_none_and_input_then_resume_works() -> None:
    client = KitaruClient()
    handle = approve.run()
    assert handle.status == "waiting"
    client.executions.input(handle.exec_id, wait="plain", value={"anything": 1})
    client.executions.resume(handle.exec_id)  # the answer already resumed it: no error (the documented pattern)
    _until(lambda: handle.status == "waiting" and client.executions.pending_waits(handle.exec_id))
    client.executions.input(handle.exec_id, wait="typed", value=True)
    client.executions.resume(handle.exec_id)
    assert handle.wait(timeout=60) == {"plain": None, "typed": True}
    with pytest.raises(kitaru.KitaruStateError):
        client.executions.resume(_fresh_completed())  # a finished run that never waited still cannot resume


def _fresh_completed() -> str:
    handle = cached_flow.run(99)
    handle.wait()
    return handle.exec_id


def _until(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


# ---------------------------------------------------------------- context rules


def test_llm_outside_a_flow_is_a_context_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "hi")
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.llm("hello", model="openai/gpt-4o-mini")


@kitaru.flow
def saves_in_body() -> None:
    kitaru.save("x", 1)


@kitaru.flow
def loads_in_body(exec_id: str) -> None:
    kitaru.load(exec_id, "x")


def test_save_and_load_outside_a_checkpoint_are_context_errors() -> None:
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.save("x", 1)
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.load("some-exec", "x")
    with pytest.raises(kitaru.KitaruUserCodeError, match="KitaruContextError"):
        saves_in_body.run().wait()
    with pytest.raises(kitaru.KitaruUserCodeError, match="KitaruContextError"):
        loads_in_body.run("some-exec").wait()


@kitaru.checkpoint
def writes_artifact() -> str:
    kitaru.save("notes", {"n": 1})
    return kitaru.current_execution_id() or ""


@kitaru.checkpoint
def reads_artifact(exec_id: str) -> dict[str, int]:
    return kitaru.load(exec_id, "notes")


@kitaru.flow
def save_then_load() -> dict[str, int]:
    exec_id = writes_artifact()
    return reads_artifact(exec_id)


def test_save_and_load_inside_checkpoints() -> None:
    assert save_then_load.run().wait() == {"n": 1}


# ---------------------------------------------------------------- llm call ids, llm_calls, artifacts, log()


@kitaru.checkpoint
def two_calls() -> str:
    a = kitaru.llm("first", model="openai/gpt-4o-mini")
    b = kitaru.llm("second", model="openai/gpt-4o-mini", name="the summary!")
    return a + b


@kitaru.flow
def llm_flow() -> str:
    one = kitaru.llm("body one", model="openai/gpt-4o-mini")
    two = kitaru.llm("body two", model="openai/gpt-4o-mini")
    kitaru.log(stage="drafted", tokens=3)
    return one + two + two_calls()


def test_llm_call_ids_metadata_and_artifacts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "ok")
    handle = llm_flow.run()
    assert handle.wait() == "okokokok"
    client = KitaruClient()
    ex = client.executions.get(handle.exec_id)
    by_id = {c.invocation_id: c for c in ex.checkpoints}
    assert {"llm_1", "llm_2", "two_calls"} <= set(by_id)
    assert by_id["llm_1"].type == "llm_call"
    entry = by_id["llm_1"].metadata["llm_calls"]["llm_1"]
    assert set(entry) == {"requested_model", "alias", "resolved_model", "credential_source", "latency_ms",
                          "tokens_input", "tokens_output", "total_tokens", "cost_usd"}
    assert entry["requested_model"] == entry["resolved_model"] == "openai/gpt-4o-mini"
    inner = by_id["two_calls"].metadata["llm_calls"]
    assert list(inner) == ["llm_1", "the_summary"]
    names = {a.name for a in client.artifacts.list(handle.exec_id)}
    assert {"llm_1_prompt", "llm_1_response", "llm_2_prompt", "llm_2_response", "the_summary_prompt",
            "the_summary_response"} <= names
    assert client.artifacts.get(handle.exec_id, "llm_2_response").load() == "ok"
    assert ex.metadata["stage"] == "drafted" and ex.metadata["tokens"] == 3


@kitaru.checkpoint
def logs_inside() -> int:
    kitaru.log(score=0.9, label="good")
    return 1


@kitaru.flow
def logging_flow() -> int:
    return logs_inside()


def test_log_writes_top_level_metadata_keys() -> None:
    handle = logging_flow.run()
    handle.wait()
    [call] = KitaruClient().executions.get(handle.exec_id).checkpoints
    assert call.metadata["score"] == 0.9 and call.metadata["label"] == "good"
    assert "log" not in call.metadata


# ---------------------------------------------------------------- flow.replay signature


@kitaru.checkpoint
def base(x: int) -> int:
    return x + 1


@kitaru.checkpoint
def finish(y: int) -> int:
    return y * 2


@kitaru.flow
def replayable(x: int) -> int:
    return finish(base(x))


def test_flow_replay_takes_config_overrides_and_inputs() -> None:
    from kitaru.store import current_state

    first = replayable.run(1, retries=0)
    assert first.wait() == 4
    again = replayable.replay(first.exec_id, from_="finish", overrides={"checkpoint.base": 10}, retries=3,
                              cache=False)
    assert again.wait() == 20
    row = current_state().get_execution(again.exec_id)
    assert row["original_exec_id"] == first.exec_id
    assert row["config"]["retries"] == 3 and row["config"]["cache"] is False
    fresh_inputs = replayable.replay(first.exec_id, from_="base", x=5)
    assert fresh_inputs.wait() == 12
    with pytest.raises(kitaru.KitaruUsageError):
        replayable.replay(first.exec_id, from_="base", retries=-1)


# ---------------------------------------------------------------- stacks


def test_create_list_current_delete_stack(tmp_path: Path) -> None:
    info = kitaru.create_stack("team", labels={"env": "dev"})
    assert isinstance(info, kitaru.StackInfo)
    assert info.name == "team" and info.is_active and info.id and info.labels == {"env": "dev"}
    assert kitaru.current_stack().name == "team"
    listed = {s.name: s for s in kitaru.list_stacks()}
    assert listed["team"].is_active and not listed["default"].is_active
    assert listed["team"].id == info.id and listed["default"].id != info.id
    quiet = kitaru.create_stack("quiet", activate=False)
    assert not quiet.is_active and kitaru.current_stack().name == "team"
    with pytest.raises(kitaru.KitaruUsageError, match="active"):
        kitaru.delete_stack("team")
    kitaru.delete_stack(quiet.id, recursive=True)  # by id
    kitaru.delete_stack("team", force=True)
    assert [s.name for s in kitaru.list_stacks()] == ["default"]
    assert kitaru.current_stack().name == "default"
    with pytest.raises(kitaru.KitaruUsageError):
        kitaru.delete_stack("never-was")
    with pytest.raises(kitaru.KitaruUsageError):
        kitaru.create_stack("bad", labels=["not", "a", "mapping"])  # type: ignore[arg-type]
    assert [s.name for s in kitaru.list_stacks()] == ["default"]


@kitaru.checkpoint
def breaks() -> str:
    raise ValueError("upstream broke")


@kitaru.flow
def dependent() -> str:
    first = breaks.submit()
    return slow("never", after=first)


def test_after_a_failed_future_the_dependent_call_does_not_run(order: list[str]) -> None:
    with pytest.raises(kitaru.KitaruUserCodeError, match="upstream broke"):
        dependent.run().wait()
    assert "never" not in order
