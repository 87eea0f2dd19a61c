"""Rows from the state service → client models."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from kitaru._status import ExecutionStatus
from kitaru.client._models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    FailureInfo,
    LogEntry,
    PendingWait,
    ts,
)
from kitaru.errors import FailureOrigin

if TYPE_CHECKING:
    from kitaru.client._client import KitaruClient

# statuses of calls, attempts and waits that are not execution statuses
_STATUS_ALIASES = {"pending": "waiting", "answered": "completed", "aborted": "cancelled", "reused": "completed",
                   "cached": "completed"}
_FLOW_NS = uuid.UUID("8f6c1d0e-4b7a-5c3e-9a21-6b0d2f4e7a10")


def status(value: str) -> ExecutionStatus:
    """A stored status word → ExecutionStatus (call/attempt/wait words mapped to the nearest)."""
    try:
        return ExecutionStatus(_STATUS_ALIASES.get(value, value))
    except ValueError:
        return ExecutionStatus.RUNNING


def call_id(exec_id: str, invocation_id: str) -> str:
    """The id of a checkpoint call, unique across executions."""
    return f"{exec_id}:{invocation_id}"


def flow_id(flow_name: str) -> str:
    """A stable id for a flow (derived from its name: the flow's identity in this project)."""
    return str(uuid.uuid5(_FLOW_NS, flow_name))


def failure(data: dict[str, Any] | None, *, checkpoint: str | None = None,
            default_origin: str = "runtime") -> FailureInfo | None:
    """A stored failure (or call error) dict → FailureInfo."""
    if not data:
        return None
    kind = data.get("type")
    return FailureInfo(message=data.get("message") or data.get("reason") or "", exception_type=kind,
                       traceback=data.get("traceback"), origin=FailureOrigin(data.get("origin") or default_origin),
                       reason=data.get("reason", ""), type=kind, checkpoint=data.get("checkpoint", checkpoint))


def wait(row: dict[str, Any]) -> PendingWait:
    """A waits row → PendingWait."""
    created = ts(row["created_at"])
    return PendingWait(wait_id=row["invocation_id"], name=row["name"], question=row["question"], schema=row["schema"],
                       metadata=row["metadata"] or {}, entered_waiting_at=created, exec_id=row["exec_id"],
                       status=row["status"], created_at=created, answer=row.get("answer"))


def call(row: dict[str, Any], attempts: list[dict[str, Any]],
         artifacts: list[ArtifactRef] | None = None) -> CheckpointCall:
    """A checkpoint_calls row (+ its attempts and artifacts) → CheckpointCall."""
    exec_id, inv = row["exec_id"], row["invocation_id"]
    cid = call_id(exec_id, inv)
    started, ended = row["started_at"], row["ended_at"]
    recorded = [CheckpointAttempt(attempt_id=f"{cid}#{a['attempt']}", status=status(a["status"]),
                                  started_at=ts(a["started_at"]), ended_at=ts(a["ended_at"]),
                                  failure=failure(a["error"], checkpoint=inv, default_origin="user_code"),
                                  attempt=a["attempt"], error=a["error"])
                for a in attempts]
    if row["attempts"] > len(recorded):  # the attempt in flight (or the one a crash interrupted)
        recorded.append(CheckpointAttempt(attempt_id=f"{cid}#{row['attempts']}", status=status(row["status"]),
                                          started_at=ts(started), ended_at=None, attempt=row["attempts"]))
    metadata = row["metadata"] or {}
    parents = metadata.get("after") or metadata.get("parent_call_ids") or []
    return CheckpointCall(
        call_id=cid, name=row["name"], status=status(row["status"]), started_at=ts(started), ended_at=ts(ended),
        metadata=metadata, original_call_id=call_id(row["reused_from"], inv) if row["reused_from"] else None,
        parent_call_ids=[p if ":" in str(p) else call_id(exec_id, str(p)) for p in parents if p],
        failure=failure(row["error"], checkpoint=inv, default_origin="user_code"), attempts=recorded,
        artifacts=artifacts or [],
        checkpoint_type=row["type"], exec_id=exec_id, invocation_id=inv, seq=row["seq"], type=row["type"],
        duration_s=metadata.get("duration_s", (ended - started) if ended else None),
        input_preview=row["input_preview"], input_hash=row["input_hash"], output=row["output"],
        reused_from=row["reused_from"], error=row["error"],
    )


def status_reason(row: dict[str, Any], waits: list[PendingWait]) -> str | None:
    """A short sentence saying why the execution is in its status (None while running or once completed)."""
    state, fail = row["status"], row["failure"] or {}
    if state == "waiting":
        if waits:
            return f"waiting for input on {waits[0].name!r}" + (f": {waits[0].question}" if waits[0].question else "")
        return "waiting: its wait was answered; it continues when resumed"
    if state in ("failed", "cancelled"):
        reason: str = fail.get("message") or fail.get("reason") or state
        return reason
    return None


def execution(row: dict[str, Any], calls: list[CheckpointCall] | None = None,
              waits: list[PendingWait] | None = None, artifacts: list[ArtifactRef] | None = None,
              client: KitaruClient | None = None) -> Execution:
    """An executions row (+ its calls, pending waits and artifacts) → Execution."""
    waits = waits or []
    created = ts(row["created_at"])
    return Execution(
        exec_id=row["id"], flow_id=flow_id(row["flow_name"]), flow_name=row["flow_name"],
        status=ExecutionStatus(row["status"]), started_at=created, ended_at=ts(row["ended_at"]),
        stack_name=row["stack"], metadata=row["metadata"] or {}, status_reason=status_reason(row, waits),
        failure=failure(row["failure"]), pending_wait=waits[0] if waits else None,
        frozen_execution_spec=row["config"] or None, original_exec_id=row["original_exec_id"],
        checkpoints=calls or [], artifacts=artifacts or [], stack=row["stack"], created_at=created,
        updated_at=ts(row["updated_at"]), replay_from=row["replay_from"], config=row["config"] or {},
        runs=row["runs"], pending_waits=waits, orchestrator=row.get("orchestrator"), job_id=row.get("job_id"),
        dispatched_at=ts(row.get("dispatched_at")), owner=row.get("owner_name"), _client=client,
    )


def log(row: dict[str, Any], names: dict[str, str]) -> LogEntry:
    """A logs row → LogEntry; `names` maps invocation ids to checkpoint function names."""
    inv = row["invocation_id"]
    stamp = ts(row["ts"])
    return LogEntry(message=row["message"], level=row["level"],
                    timestamp=stamp.isoformat().replace("+00:00", "Z") if stamp else None,
                    source="step" if inv else "runner", checkpoint_name=names.get(inv, inv) if inv else None,
                    id=row["id"], exec_id=row["exec_id"], checkpoint=inv, stream=row["stream"])


def artifact_id(exec_id: str, kind: str, name: str) -> str:
    """`<exec>:artifact:<name>` for saved values, `<exec>:output:<invocation id>` for checkpoint outputs."""
    return f"{exec_id}:{kind}:{name}"


def artifact(exec_id: str, name: str, type_: str, ref: dict[str, Any], *, tags: list[str] | None = None,
             checkpoint: str | None = None, created_at: float | None = None) -> ArtifactRef:
    """A blob ref with its names → ArtifactRef (`type_` "checkpoint_output" marks a checkpoint's output)."""
    is_output = type_ == "checkpoint_output"
    return ArtifactRef(
        artifact_id=artifact_id(exec_id, "output" if is_output else "artifact", name), name=name,
        kind="output" if is_output else type_, save_type="output" if is_output else "manual",
        producing_call=call_id(exec_id, checkpoint) if checkpoint else None,
        metadata={"size": ref["size"], "sha256": ref["sha256"], "serializer": ref["serializer"], "tags": tags or []},
        exec_id=exec_id, type=type_, sha256=ref["sha256"], size=ref["size"], serializer=ref["serializer"],
        store=ref["store"], tags=tags or [], checkpoint=checkpoint, created_at=ts(created_at),
        type_ref=ref.get("type"))
