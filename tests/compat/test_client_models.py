"""Kitaru 0.4 client models: field names, types and methods (issue 12, "Client models and API")."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from kitaru.client import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    ExecutionStatus,
    FailureInfo,
    KitaruClient,
    LogEntry,
    PendingWait,
)
from kitaru.errors import FailureOrigin


def names(model: type) -> set[str]:
    return {f.name for f in dataclasses.fields(model)}


def test_models_have_the_reference_fields() -> None:
    assert {"exec_id", "flow_id", "flow_name", "status", "started_at", "ended_at", "stack_name", "metadata",
            "status_reason", "failure", "pending_wait", "frozen_execution_spec", "original_exec_id",
            "checkpoints", "artifacts"} <= names(Execution)
    assert {"call_id", "name", "status", "started_at", "ended_at", "metadata", "original_call_id",
            "parent_call_ids", "failure", "attempts", "artifacts", "checkpoint_type"} <= names(CheckpointCall)
    assert {"attempt_id", "status", "started_at", "ended_at", "metadata", "failure"} <= names(CheckpointAttempt)
    assert {"message", "exception_type", "traceback", "origin"} <= names(FailureInfo)
    assert {"wait_id", "name", "question", "schema", "metadata", "entered_waiting_at"} <= names(PendingWait)
    assert {"message", "level", "timestamp", "source", "checkpoint_name", "module", "filename",
            "lineno"} <= names(LogEntry)
    assert {"artifact_id", "name", "kind", "save_type", "producing_call", "metadata"} <= names(ArtifactRef)
    for method in ("refresh", "retry", "resume", "cancel", "replay", "list_checkpoints", "list_artifacts"):
        assert callable(getattr(Execution, method)), method
    assert callable(ArtifactRef.load)
    # this project's extras stay
    assert {"stack", "created_at", "runs", "pending_waits"} <= names(Execution)
    assert {"invocation_id", "input_hash", "reused_from"} <= names(CheckpointCall)


def test_status_is_a_str_enum_with_is_finished() -> None:
    assert ExecutionStatus("COMPLETED") is ExecutionStatus.COMPLETED  # any case
    assert ExecutionStatus.COMPLETED == "completed" and ExecutionStatus.FAILED.value == "failed"
    assert ExecutionStatus.CANCELLED.is_finished and not ExecutionStatus.WAITING.is_finished
    assert str(ExecutionStatus.COMPLETED) == "completed" and f"{ExecutionStatus.FAILED}" == "failed"
    with pytest.raises(ValueError):
        ExecutionStatus("paused")


def test_failure_origin_is_an_enum_of_the_reference_values() -> None:
    assert {"user_code", "runtime", "backend", "divergence", "unknown"} <= {o.value for o in FailureOrigin}
    assert FailureOrigin("user_code") == "user_code"
    assert FailureOrigin("no-such-origin") is FailureOrigin.UNKNOWN  # a newer server's origin never breaks a read


def test_a_completed_execution_reads_as_the_reference_documents(flows: Any) -> None:
    exec_id = flows.pipeline.run(topic="ai").exec_id
    e = KitaruClient().executions.get(exec_id)
    assert isinstance(e.status, ExecutionStatus) and e.status == "completed"
    assert e.flow_name == "pipeline" and e.flow_id and e.stack_name == "default"
    assert isinstance(e.started_at, datetime) and isinstance(e.ended_at, datetime) and e.started_at <= e.ended_at
    assert e.status_reason is None and e.failure is None and e.pending_wait is None
    assert isinstance(e.frozen_execution_spec, dict) and e.original_exec_id is None
    assert [c.name for c in e.checkpoints] == ["research", "write"]
    first = e.checkpoints[0]
    assert first.status is ExecutionStatus.COMPLETED and first.checkpoint_type == "checkpoint"
    assert first.call_id and first.original_call_id is None and first.failure is None
    assert [type(a) for a in first.attempts] == [CheckpointAttempt]
    assert first.attempts[0].attempt_id and first.attempts[0].status is ExecutionStatus.COMPLETED
    kinds = {(a.name, a.kind, a.save_type) for a in e.artifacts}
    assert ("sources", "context", "manual") in kinds and ("research", "output", "output") in kinds
    sources = next(a for a in e.artifacts if a.name == "sources")
    assert sources.producing_call == first.call_id and sources.load() == ["a", "b"]
    assert {a.name for a in first.artifacts} == {"sources", "research"}
    # the flow id is stable per flow
    again = KitaruClient().executions.get(flows.pipeline.run(topic="x").exec_id)
    assert again.flow_id == e.flow_id


def test_failure_info_of_a_failed_execution(flows: Any) -> None:
    handle = flows.broken.run()
    e = KitaruClient().executions.get(handle.exec_id)
    assert e.status is ExecutionStatus.FAILED
    assert isinstance(e.failure, FailureInfo) and e.failure.origin is FailureOrigin.USER_CODE
    assert e.failure.message == "no budget left" and "ValueError" in (e.failure.exception_type or "")
    assert "Traceback" in (e.failure.traceback or "")
    assert e.status_reason == "no budget left"
    failed = next(c for c in e.checkpoints if c.name == "explode")
    assert failed.status is ExecutionStatus.FAILED and failed.failure is not None
    assert failed.failure.message == "no budget left" and failed.attempts[-1].failure is not None


def test_pending_wait_and_execution_methods(flows: Any) -> None:
    handle = flows.review.run(topic="ai")
    client = KitaruClient()
    e = client.executions.get(handle.exec_id)
    assert e.status is ExecutionStatus.WAITING
    wait = e.pending_wait
    assert isinstance(wait, PendingWait) and wait.name == "approve" and wait.question == "Publish ai?"
    assert wait.schema == {"type": "boolean"} and wait.metadata == {"team": "docs"}
    assert isinstance(wait.entered_waiting_at, datetime) and wait.wait_id
    assert "approve" in (e.status_reason or "")
    assert e.refresh().exec_id == e.exec_id
    assert [c.name for c in e.list_checkpoints()][0] == "research"
    assert {a.name for a in e.list_artifacts()} >= {"sources", "research"}
    cancelled = e.cancel()
    assert cancelled.status is ExecutionStatus.CANCELLED and cancelled.refresh().status == "cancelled"


def test_to_dict_is_json_ready(flows: Any) -> None:
    import json

    e = KitaruClient().executions.get(flows.pipeline.run().exec_id)
    data = e.to_dict()
    json.dumps(data)  # nothing left that JSON cannot hold
    assert "_client" not in data and data["status"] == "completed" and data["started_at"].endswith("Z")
