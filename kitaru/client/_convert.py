"""Rows from the state service → client models."""

from __future__ import annotations

from typing import Any

from kitaru.client._models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    ExecutionStatus,
    FailureInfo,
    LogEntry,
    PendingWait,
    ts,
)


def failure(data: dict[str, Any] | None) -> FailureInfo | None:
    """A stored failure dict → FailureInfo."""
    if not data:
        return None
    return FailureInfo(origin=data.get("origin", "runtime"), reason=data.get("reason", ""),
                       message=data.get("message", ""), type=data.get("type"), checkpoint=data.get("checkpoint"),
                       traceback=data.get("traceback"))


def wait(row: dict[str, Any]) -> PendingWait:
    """A waits row → PendingWait."""
    return PendingWait(exec_id=row["exec_id"], wait_id=row["invocation_id"], name=row["name"],
                       question=row["question"], schema=row["schema"], metadata=row["metadata"] or {},
                       status=row["status"], created_at=ts(row["created_at"]), answer=row.get("answer"))


def call(row: dict[str, Any], attempts: list[dict[str, Any]]) -> CheckpointCall:
    """A checkpoint_calls row (+ its attempts) → CheckpointCall."""
    started, ended = row["started_at"], row["ended_at"]
    recorded = [CheckpointAttempt(attempt=a["attempt"], status=a["status"], started_at=ts(a["started_at"]),
                                  ended_at=ts(a["ended_at"]), error=a["error"]) for a in attempts]
    if row["attempts"] > len(recorded):  # the attempt in flight (or the one a crash interrupted)
        recorded.append(CheckpointAttempt(attempt=row["attempts"], status=row["status"], started_at=ts(started),
                                          ended_at=None))
    return CheckpointCall(
        exec_id=row["exec_id"], invocation_id=row["invocation_id"], call_id=f"{row['exec_id']}:{row['invocation_id']}",
        seq=row["seq"], name=row["name"], type=row["type"], status=row["status"], started_at=ts(started),
        ended_at=ts(ended), duration_s=(row["metadata"] or {}).get("duration_s", (ended - started) if ended else None),
        input_preview=row["input_preview"], input_hash=row["input_hash"], output=row["output"],
        reused_from=row["reused_from"], error=row["error"], metadata=row["metadata"] or {},
        attempts=recorded,
    )


def execution(row: dict[str, Any], calls: list[CheckpointCall] | None = None,
              waits: list[PendingWait] | None = None) -> Execution:
    """An executions row → Execution."""
    return Execution(
        exec_id=row["id"], flow_name=row["flow_name"], status=ExecutionStatus(row["status"]), stack=row["stack"],
        created_at=ts(row["created_at"]), updated_at=ts(row["updated_at"]), ended_at=ts(row["ended_at"]),
        original_exec_id=row["original_exec_id"], replay_from=row["replay_from"], failure=failure(row["failure"]),
        config=row["config"] or {}, metadata=row["metadata"] or {}, runs=row["runs"],
        checkpoints=calls or [], pending_waits=waits or [], owner=row.get("owner_name"),
    )


def log(row: dict[str, Any]) -> LogEntry:
    """A logs row → LogEntry."""
    return LogEntry(id=row["id"], exec_id=row["exec_id"], checkpoint=row["invocation_id"], timestamp=ts(row["ts"]),
                    stream=row["stream"], level=row["level"], message=row["message"])


def artifact(exec_id: str, name: str, type_: str, ref: dict[str, Any], *, tags: list[str] | None = None,
             checkpoint: str | None = None, created_at: float | None = None) -> ArtifactRef:
    """A blob ref with its names → ArtifactRef."""
    return ArtifactRef(exec_id=exec_id, name=name, type=type_, sha256=ref["sha256"], size=ref["size"],
                       serializer=ref["serializer"], store=ref["store"], tags=tags or [], checkpoint=checkpoint,
                       created_at=ts(created_at), type_ref=ref.get("type"))
