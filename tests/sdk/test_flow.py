"""Flows and checkpoints through the public API, in-process on the embedded store."""

from __future__ import annotations

import dataclasses
import threading

import pydantic
import pytest

import kitaru
from kitaru import checkpoint, flow
from kitaru.client import ExecutionStatus, KitaruClient

calls: dict[str, int] = {}
_lock = threading.Lock()


def _count(name: str) -> None:
    with _lock:
        calls[name] = calls.get(name, 0) + 1


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


class Report(pydantic.BaseModel):
    title: str
    score: float


@dataclasses.dataclass
class Point:
    x: int
    y: int


@checkpoint
def research(topic: str) -> dict:
    _count("research")
    return {"topic": topic, "facts": [1, 2]}


@checkpoint
def make_report(notes: dict) -> Report:
    _count("make_report")
    return Report(title=notes["topic"], score=0.5)


@checkpoint
def double(x: int) -> int:
    _count(f"double:{x}")
    return 2 * x


@checkpoint
def point() -> Point:
    return Point(1, 2)


@checkpoint
def blob() -> bytes:
    return b"\x00\x01" * 10


@flow
def pipeline(topic: str, n: int = 3) -> dict:
    notes = research(topic)
    report = make_report(notes)
    doubled = double.map(range(n)).result()
    single = double.submit(10).result()
    again = double(1, id="explicit-double")
    return {"report": report.title, "score": report.score, "doubled": doubled, "single": single, "again": again,
            "point": dataclasses.asdict(point()), "blob": len(blob())}


def test_run_completes_and_records_every_checkpoint_with_deterministic_ids() -> None:
    handle = pipeline.run("durable agents", n=3)
    assert handle.status == "completed"
    assert handle.wait() == {"report": "durable agents", "score": 0.5, "doubled": [0, 2, 4], "single": 20,
                             "again": 2, "point": {"x": 1, "y": 2}, "blob": 20}
    assert handle.get() == handle.wait()
    ex = KitaruClient().executions.get(handle.exec_id)
    assert ex.status is ExecutionStatus.COMPLETED
    assert [c.invocation_id for c in ex.checkpoints] == [
        "research", "make_report", "double", "double_2", "double_3", "double_4", "explicit-double", "point", "blob"]
    assert all(c.status == "completed" and len(c.attempts) == 1 for c in ex.checkpoints)
    assert ex.checkpoints[0].input_preview == "'durable agents'"


def test_calling_a_flow_directly_is_a_usage_error() -> None:
    with pytest.raises(kitaru.KitaruUsageError, match=r"pipeline.run"):
        pipeline("x")


def test_checkpoint_outside_a_flow_is_a_context_error() -> None:
    with pytest.raises(kitaru.KitaruContextError, match="inside a @flow"):
        research("x")


@checkpoint
def outer() -> int:
    return double(1)


@flow
def nested() -> int:
    return outer()


def test_nested_checkpoint_fails_the_execution_with_a_context_error() -> None:
    handle = nested.run()
    with pytest.raises(kitaru.KitaruUserCodeError, match="cannot be called inside checkpoint 'outer'"):
        handle.wait()


attempts_seen: list[int] = []


@checkpoint(retries=2)
def flaky() -> str:
    attempts_seen.append(1)
    if len(attempts_seen) < 3:
        raise RuntimeError(f"boom {len(attempts_seen)}")
    return "ok"


@flow
def retrying() -> str:
    return flaky()


def test_checkpoint_retries_record_every_attempt() -> None:
    attempts_seen.clear()
    handle = retrying.run()
    assert handle.wait() == "ok"
    cp = KitaruClient().executions.get(handle.exec_id).checkpoints[0]
    assert [a.status for a in cp.attempts] == ["failed", "failed", "completed"]
    assert "boom 1" in cp.attempts[0].error["message"]


@checkpoint
def always_fails(x: int) -> int:
    raise ValueError(f"bad input {x}")


@flow
def failing() -> int:
    research("a")
    return always_fails(3)


def test_user_error_fails_execution_with_typed_error_and_failure_info() -> None:
    handle = failing.run()
    assert handle.status == "failed"
    with pytest.raises(kitaru.KitaruUserCodeError, match="always_fails.*bad input 3") as info:
        handle.wait()
    assert info.value.exec_id == handle.exec_id and info.value.failure_origin == "user_code"
    ex = KitaruClient().executions.get(handle.exec_id)
    assert ex.failure is not None and ex.failure.checkpoint == "always_fails" and "ValueError" in ex.failure.type


cache_hits: list[int] = []


@checkpoint(cache=True)
def expensive(x: int) -> int:
    cache_hits.append(x)
    return x * 100


@flow
def cached_flow(x: int) -> int:
    return expensive(x)


def test_cache_reuses_outputs_across_executions_only_when_inputs_match() -> None:
    cache_hits.clear()
    assert cached_flow.run(1).wait() == 100
    second = cached_flow.run(1)
    assert second.wait() == 100
    assert cached_flow.run(2).wait() == 200
    assert cache_hits == [1, 2]
    cp = KitaruClient().executions.get(second.exec_id).checkpoints[0]
    assert cp.reused_from is not None


@flow
def logging_flow() -> str:

    print("body says hi")
    kitaru.log(phase="start")
    return shout("x")


@checkpoint
def shout(x: str) -> str:
    import logging
    import sys

    print(f"shouting {x}")
    print("to stderr", file=sys.stderr)
    logging.getLogger("agent").warning("careful")
    kitaru.log(tokens=12)
    return x.upper()


def test_logs_are_captured_per_execution_and_per_checkpoint() -> None:
    handle = logging_flow.run()
    assert handle.wait() == "X"
    client = KitaruClient()
    entries = client.executions.logs(handle.exec_id, source="all")  # "step" (the default) leaves out the body's
    got = {(e.stream, e.checkpoint, e.message) for e in entries}
    runner = {e.message for e in client.executions.logs(handle.exec_id, source="runner")}
    assert "body says hi" in runner and "shouting x" not in runner
    assert ("stdout", None, "body says hi") in got
    assert ("stdout", "shout", "shouting x") in got
    assert ("stderr", "shout", "to stderr") in got
    assert ("logging", "shout", "agent: careful") in got
    assert [e.message for e in client.executions.logs(handle.exec_id, checkpoint="shout")][:1] == ["shouting x"]
    ex = client.executions.get(handle.exec_id)
    assert ex.metadata == {"phase": "start"}
    assert ex.checkpoints[0].metadata["tokens"] == 12  # kitaru.log(**kw) keys are top-level metadata (Kitaru 0.4)


@checkpoint
def save_draft() -> None:
    kitaru.save("draft", {"text": "hello"}, tags=["v1"])  # save/load belong in checkpoints (Kitaru 0.4)


@flow
def saving() -> str:
    save_draft()
    assert kitaru.current_execution_id() is not None
    return "done"


def test_save_and_load_artifacts() -> None:
    handle = saving.run()
    handle.wait()
    client = KitaruClient()
    ref = client.artifacts.get(handle.exec_id, "draft")
    assert ref.tags == ["v1"] and ref.load() == {"text": "hello"}
    assert kitaru.current_execution_id() is None


def test_configure_precedence_run_beats_flow_beats_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_RETRIES", "1")
    kitaru.configure(retries=2)

    @flow(retries=3)
    def configured() -> int:
        return 1

    h = configured.run(retries=4)
    assert KitaruClient().executions.get(h.exec_id).config["retries"] == 4
    h2 = configured.run()
    assert KitaruClient().executions.get(h2.exec_id).config["retries"] == 3
