"""Typed outputs of the MCP tools (the tools' output schemas), built from the client's models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Failure(BaseModel):
    """Why an execution failed; `origin` is user_code, divergence, runtime or cancelled."""

    origin: str
    reason: str
    message: str
    type: str | None = None
    checkpoint: str | None = None


class ExecutionSummary(BaseModel):
    """One execution without its timeline."""

    exec_id: str
    flow_name: str
    status: str = Field(description="running, waiting, completed, failed or cancelled")
    stack: str
    created_at: str | None
    updated_at: str | None
    ended_at: str | None
    original_exec_id: str | None = Field(None, description="set on replays: the execution it was forked from")
    replay_from: str | None = None
    failure: Failure | None = None
    runs: int = 0


class Checkpoint(BaseModel):
    """One checkpoint call of an execution (also llm calls and waits)."""

    invocation_id: str = Field(description="use this as `from_checkpoint` of kitaru_executions_replay")
    name: str
    type: str
    seq: int
    status: str
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    input_preview: str | None
    reused_from: str | None
    error: dict[str, Any] | None
    attempts: int


class Wait(BaseModel):
    """A wait that needs an answer; answer it with kitaru_executions_input."""

    exec_id: str
    wait_id: str
    name: str
    question: str | None
    answer_schema: dict[str, Any] | None = Field(description="JSON schema the answer must match (None: any JSON)")
    created_at: str | None


class ExecutionDetail(ExecutionSummary):
    """One execution with its checkpoint timeline and pending waits."""

    checkpoints: list[Checkpoint] = []
    pending_waits: list[Wait] = []
    metadata: dict[str, Any] = {}


class ExecutionPage(BaseModel):
    """One page of executions, newest first."""

    items: list[ExecutionSummary]
    page: int
    limit: int
    next_page: int | None = Field(description="pass as `page` for more; None when this is the last page")


class LogLine(BaseModel):
    """One captured log line."""

    id: int
    checkpoint: str | None
    timestamp: str | None
    stream: str
    level: str
    message: str


class LogPage(BaseModel):
    """Log lines after a cursor; call again with `cursor=next_cursor` to tail."""

    exec_id: str
    lines: list[LogLine]
    next_cursor: int = Field(description="pass as `cursor` to get only newer lines")
    execution_status: str
    finished: bool = Field(description="True when the execution ended and every line was returned")


class Artifact(BaseModel):
    """A stored value: a named artifact or a checkpoint output (by its invocation id)."""

    exec_id: str
    name: str
    type: str
    size: int
    sha256: str
    checkpoint: str | None
    created_at: str | None
    tags: list[str] = []
    uri: str = Field(description="resource URI that returns the full value")


class ArtifactList(BaseModel):
    """Artifacts of one execution."""

    items: list[Artifact]
    truncated: bool


class ArtifactValue(BaseModel):
    """An artifact with a bounded preview of its value; read `uri` for the whole value."""

    artifact: Artifact
    preview: str = Field(description="the value as JSON text (a string value as itself), cut at max_chars")
    truncated: bool
    full_length: int


def summary(e: Any) -> ExecutionSummary:
    """ExecutionSummary from a client `Execution`."""
    from kitaru.mcp._light import summary_dict

    return ExecutionSummary.model_validate(summary_dict(e))


def wait(w: Any) -> Wait:
    """Wait from a client `PendingWait`."""
    d = w.to_dict() if hasattr(w, "to_dict") else w
    return Wait(exec_id=d["exec_id"], wait_id=d["wait_id"], name=d["name"], question=d.get("question"),
                answer_schema=d.get("schema"), created_at=d.get("created_at"))


def detail(e: Any) -> ExecutionDetail:
    """ExecutionDetail from a client `Execution` (from `executions.get`)."""
    d = e.to_dict()
    cps = [Checkpoint(**{k: c.get(k) for k in Checkpoint.model_fields if k != "attempts"},
                      attempts=len(c.get("attempts") or [])) for c in d["checkpoints"]]
    base = summary(e).model_dump()
    return ExecutionDetail(**base, checkpoints=cps, pending_waits=[wait(w) for w in d["pending_waits"]],
                           metadata=d.get("metadata") or {})


def artifact(a: Any) -> Artifact:
    """Artifact from a client `ArtifactRef`."""
    from kitaru.mcp._common import artifact_uri

    d = a.to_dict()
    return Artifact(exec_id=d["exec_id"], name=d["name"], type=d["type"], size=d["size"], sha256=d["sha256"],
                    checkpoint=d.get("checkpoint"), created_at=d.get("created_at"), tags=d.get("tags") or [],
                    uri=artifact_uri(d["exec_id"], d["name"]))


def log_line(entry: Any) -> LogLine:
    """LogLine from a client `LogEntry`."""
    d = entry.to_dict()
    return LogLine(**{k: d.get(k) for k in LogLine.model_fields})
