"""Kitaru 0.4 `KitaruClient` API: list/latest/get errors, logs, artifacts (issue 12, "Client models and API")."""

from __future__ import annotations

from typing import Any

import pytest

from kitaru.client import ExecutionStatus, KitaruClient, LogEntry
from kitaru.errors import KitaruBackendError, KitaruUsageError


def test_list_filters_case_insensitively_and_limits(flows: Any) -> None:
    first = flows.pipeline.run(topic="a").exec_id
    flows.broken.run()
    latest = flows.pipeline.run(topic="b").exec_id
    executions = KitaruClient().executions
    assert [e.exec_id for e in executions.list(flow="pipeline")] == [latest, first]  # newest first
    assert len(executions.list()) == 3 and len(executions.list(limit=2)) == 2
    assert [e.flow_name for e in executions.list(status="FAILED")] == ["broken"]
    assert len(executions.list(status=ExecutionStatus.COMPLETED)) == 2
    assert len(executions.list(status=" Completed ")) == 2
    with pytest.raises(KitaruUsageError, match="running, waiting, completed, failed, cancelled"):
        executions.list(status="finished")
    assert executions.latest().exec_id == latest
    assert executions.latest(flow="broken").status == "failed"


def test_latest_raises_lookup_error_and_get_of_unknown_raises_backend_error(flows: Any) -> None:
    executions = KitaruClient().executions
    with pytest.raises(LookupError):
        executions.latest()
    with pytest.raises(KitaruBackendError):
        executions.get("no-such-execution")
    flows.pipeline.run()
    with pytest.raises(LookupError):
        executions.latest(flow="pipeline", status="failed")


def test_logs_by_source_checkpoint_and_limit(flows: Any) -> None:
    exec_id = flows.pipeline.run(topic="ai").exec_id
    executions = KitaruClient().executions
    step = executions.logs(exec_id)  # source="step": lines written inside checkpoints
    assert [e.message for e in step] == ["researching ai", "writing"]
    assert all(isinstance(e, LogEntry) and e.source == "step" for e in step)
    assert [e.checkpoint_name for e in step] == ["research", "write"]
    assert all(isinstance(e.timestamp, str) and e.timestamp.endswith("Z") for e in step)
    runner = executions.logs(exec_id, source="runner")
    assert [e.message for e in runner] == ["flow body speaking"] and runner[0].checkpoint_name is None
    assert [e.message for e in executions.logs(exec_id, checkpoint="write")] == ["writing"]
    assert [e.message for e in executions.logs(exec_id, limit=1)] == ["researching ai"]  # the first N
    assert len(executions.logs(exec_id, source="all")) == 3  # this project's extra
    with pytest.raises(KitaruUsageError):
        executions.logs(exec_id, source="bogus")
    with pytest.raises(KitaruUsageError):
        executions.logs(exec_id, checkpoint="write", source="runner")


def test_checkpoint_log_filter_covers_every_call_of_the_function(flow_module: Any) -> None:
    mod = flow_module('''
from kitaru import checkpoint, flow

@checkpoint
def step(i: int) -> int:
    print(f"step {i}")
    return i

@flow
def loop() -> int:
    return step(1) + step(2)
''', "compat_loop")
    exec_id = mod.loop.run().exec_id
    logs = KitaruClient().executions.logs(exec_id, checkpoint="step")
    assert [e.message for e in logs] == ["step 1", "step 2"]
    assert {e.checkpoint for e in logs} == {"step", "step_2"} and {e.checkpoint_name for e in logs} == {"step"}


def test_artifacts_list_filters_and_get_by_id(flows: Any) -> None:
    exec_id = flows.pipeline.run(topic="ai").exec_id
    artifacts = KitaruClient().artifacts
    every = artifacts.list(exec_id)
    assert {a.name for a in every} == {"sources", "research", "write"}
    assert [a.name for a in artifacts.list(exec_id, kind="context")] == ["sources"]
    assert {a.name for a in artifacts.list(exec_id, kind="output")} == {"research", "write"}
    assert {a.name for a in artifacts.list(exec_id, producing_call="research")} == {"sources", "research"}
    assert len(artifacts.list(exec_id, limit=1)) == 1
    assert [a.name for a in artifacts.list(exec_id, name="write")] == ["write"]
    for ref in every:
        again = artifacts.get(ref.artifact_id)
        assert again == ref
    assert artifacts.get(next(a for a in every if a.name == "write").artifact_id).load() == "NOTES ON AI"
    assert artifacts.get(exec_id, "sources").load() == ["a", "b"]  # this project's form stays
    with pytest.raises(LookupError):
        artifacts.get(f"{exec_id}:artifact:nope")
    with pytest.raises(KitaruUsageError):
        artifacts.get("not an id")


def test_replay_and_retry_through_the_execution(flows: Any) -> None:
    from tests.support import wait_for

    done = KitaruClient().executions.get(flows.pipeline.run(topic="ai").exec_id)
    replayed = done.replay(from_="write")
    assert replayed.original_exec_id == done.exec_id and replayed.exec_id != done.exec_id
    wait_for(lambda: replayed.refresh().status.is_finished, timeout=60)
    assert replayed.refresh().status == "completed"
    failed = KitaruClient().executions.get(flows.broken.run().exec_id)
    retried = failed.retry()
    assert retried.exec_id == failed.exec_id
    wait_for(lambda: retried.refresh().status.is_finished, timeout=60)
    assert retried.refresh().status == "failed"  # the same bug fails again, recorded as a new run
    assert retried.refresh().runs >= 2


def test_the_same_through_a_server(flows: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import on_backend

    with on_backend("sqlite", tmp_path, monkeypatch):
        exec_id = flows.pipeline.run(topic="ai").exec_id
        client = KitaruClient()
        e = client.executions.get(exec_id)
        assert e.status == "completed" and [c.name for c in e.checkpoints] == ["research", "write"]
        assert [x.message for x in client.executions.logs(exec_id)] == ["researching ai", "writing"]
        assert [x.message for x in client.executions.logs(exec_id, source="runner")] == ["flow body speaking"]
        assert [x.message for x in client.executions.logs(exec_id, checkpoint="write", limit=5)] == ["writing"]
        assert [a.name for a in client.artifacts.list(exec_id, kind="context")] == ["sources"]
        ref = next(a for a in e.artifacts if a.name == "sources")
        assert client.artifacts.get(ref.artifact_id).load() == ["a", "b"]
        assert len(client.executions.list(status="COMPLETED")) == 1
        with pytest.raises(KitaruBackendError):
            client.executions.get("no-such-execution")
