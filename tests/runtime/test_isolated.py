"""`@checkpoint(runtime="isolated")` on the local stack: each call runs as its own job (a local process),
`.map()` fans out into parallel jobs, and the calls are recorded exactly like inline ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kitaru.client import KitaruClient
from kitaru.errors import KitaruExecutionError
from tests.support import on_backend

FLOWS = '''
import os, time
import kitaru
from kitaru import checkpoint, flow

def _mark(*words):
    with open(os.environ["MARKS"], "a") as f:
        f.write(" ".join(str(w) for w in words) + "\\n")

@checkpoint(runtime="isolated")
def where(tag: str) -> dict:
    _mark("where", tag)
    print("hello from the job", tag)
    kitaru.log(tagged=tag)
    return {"pid": os.getpid(), "tag": tag}

@checkpoint
def inline_pid() -> int:
    return os.getpid()

@flow
def placed(tag: str) -> dict:
    job = where(tag)
    return {"job": job, "inline": inline_pid()}

@checkpoint(runtime="isolated")
def nap(i: int) -> list:
    start = time.time()
    time.sleep(float(os.environ.get("NAP", "1")))
    return [i, os.getpid(), start, time.time()]

@flow
def fan(n: int) -> list:
    return nap.map(range(n)).result()

@checkpoint(runtime="isolated", retries=1)
def flaky(limit: int) -> str:
    _mark("flaky")
    if len([l for l in open(os.environ["MARKS"]) if l.strip() == "flaky"]) <= limit:
        raise ValueError("not yet")
    return "ok"

@flow
def retried(limit: int) -> str:
    try:
        return flaky(limit)
    except ValueError as exc:
        return "caught " + str(exc)

@checkpoint(runtime="isolated")
def dies() -> str:
    import signal
    os.kill(os.getpid(), signal.SIGKILL)

@flow
def killed() -> str:
    return dies()

@checkpoint
def after(doc: dict) -> str:
    _mark("after")
    return doc["tag"].upper()

@flow
def two(tag: str) -> str:
    return after(where(tag))
'''


def _calls(exec_id: str) -> dict[str, object]:
    return {c.invocation_id: c for c in KitaruClient().executions.get(exec_id).checkpoints}


@pytest.mark.parametrize("backend", ["embedded", "sqlite"])
def test_an_isolated_checkpoint_runs_as_its_own_job_and_is_recorded_like_an_inline_one(
        backend: str, flow_module, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with on_backend(backend, tmp_path, monkeypatch):
        mod = flow_module(FLOWS, f"iso_place_{backend}")
        handle = mod.placed.run("a")
        out = handle.wait(timeout=60)
        assert out["inline"] == os.getpid() and out["job"]["pid"] != os.getpid() and out["job"]["tag"] == "a"
        calls = _calls(handle.exec_id)
        call = calls["where"]
        assert str(call.status) == "completed" and call.type == "checkpoint" and len(call.attempts) == 1
        assert call.metadata["job"]["orchestrator"] == "local" and call.metadata["job"]["job_id"]
        assert call.metadata["tagged"] == "a"  # kitaru.log() inside the job reaches the call's metadata
        logs = KitaruClient().executions.logs(handle.exec_id)
        assert any("hello from the job a" in e.message and e.checkpoint == "where" for e in logs)


def test_map_of_an_isolated_checkpoint_fans_out_into_parallel_jobs(flow_module, monkeypatch) -> None:
    monkeypatch.setenv("NAP", "1.5")
    mod = flow_module(FLOWS, "iso_fan")
    rows = mod.fan.run(4).wait(timeout=90)
    assert [r[0] for r in rows] == [0, 1, 2, 3]
    assert len({r[1] for r in rows}) == 4 and os.getpid() not in {r[1] for r in rows}
    assert max(r[2] for r in rows) < min(r[3] for r in rows), "the four jobs did not overlap"
    jobs = [p for p in (Path(os.environ["KITARU_HOME"]) / "jobs").iterdir()]
    assert len(jobs) == 4  # one local job per call


def test_retries_rerun_the_job_and_the_original_exception_reaches_the_flow(flow_module) -> None:
    mod = flow_module(FLOWS, "iso_retry")
    assert mod.retried.run(1).wait(timeout=60) == "ok"  # attempt 1 failed, attempt 2 (a new job) passed
    assert mod.retried.run(5).wait(timeout=60) == "caught not yet"  # the job's ValueError, caught by the flow
    call = _calls(KitaruClient().executions.latest(flow="retried").exec_id)["flaky"]
    assert str(call.status) == "failed" and len(call.attempts) == 2
    assert call.attempts[0].error["type"] == "builtins.ValueError" and "not yet" in call.attempts[0].error["message"]


def test_a_job_that_dies_fails_the_execution_with_origin_infrastructure(flow_module) -> None:
    mod = flow_module(FLOWS, "iso_kill")
    handle = mod.killed.run()
    with pytest.raises(KitaruExecutionError):
        handle.wait(timeout=60)
    execution = KitaruClient().executions.get(handle.exec_id)
    assert str(execution.status) == "failed" and str(execution.failure.origin) == "infrastructure"
    assert "ended without reporting" in execution.failure.message


def test_replay_reuses_a_completed_isolated_checkpoint_without_a_new_job(flow_module) -> None:
    mod = flow_module(FLOWS, "iso_replay")
    first = mod.two.run("r")
    assert first.wait(timeout=60) == "R"
    replayed = mod.two.replay(first.exec_id, from_="after")
    assert replayed.wait(timeout=60) == "R"
    assert mod.marks().count("where") == 1 and mod.marks().count("after") == 2
    assert len(list((Path(os.environ["KITARU_HOME"]) / "jobs").iterdir())) == 1


def test_an_isolated_checkpoint_defined_in_a_function_is_refused_with_the_fix(tmp_path) -> None:
    import kitaru

    @kitaru.checkpoint(runtime="isolated")
    def local_cp() -> int:
        return 1

    @kitaru.flow
    def f() -> int:
        return local_cp()

    handle = f.run()
    with pytest.raises(KitaruExecutionError):
        handle.wait(timeout=30)
    failure = KitaruClient().executions.get(handle.exec_id).failure
    assert failure is not None and "define it at module level" in failure.message
