"""What clients see: executions, checkpoint calls, attempts, waits, artifacts, logs."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any


class ExecutionStatus(str, enum.Enum):
    """The life cycle of an execution."""

    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        """Whether the execution has ended (completed, failed or cancelled)."""
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)


def ts(value: float | None) -> datetime | None:
    """Store timestamp (epoch seconds) → aware UTC datetime."""
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


class _Model:
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: enums as values, datetimes as ISO-8601 UTC."""
        def conv(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat().replace("+00:00", "Z")
            if isinstance(v, enum.Enum):
                return v.value
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, list):
                return [conv(x) for x in v]
            return v
        return {k: conv(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class FailureInfo(_Model):
    """Why an execution or checkpoint failed; `origin` is user_code, divergence, runtime or cancelled."""

    origin: str
    reason: str
    message: str
    type: str | None = None
    checkpoint: str | None = None
    traceback: str | None = None


@dataclass(frozen=True)
class CheckpointAttempt(_Model):
    """One attempt of a checkpoint call."""

    attempt: int
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckpointCall(_Model):
    """One call of a checkpoint (or llm call, or wait) inside an execution."""

    exec_id: str
    invocation_id: str
    call_id: str
    seq: int
    name: str
    type: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    input_preview: str | None
    input_hash: str | None
    output: dict[str, Any] | None
    reused_from: str | None
    error: dict[str, Any] | None
    metadata: dict[str, Any] = field(default_factory=dict)
    attempts: list[CheckpointAttempt] = field(default_factory=list)


@dataclass(frozen=True)
class PendingWait(_Model):
    """A wait that needs an answer."""

    exec_id: str
    wait_id: str
    name: str
    question: str | None
    schema: dict[str, Any] | None
    metadata: dict[str, Any]
    status: str
    created_at: datetime | None
    answer: Any = None


@dataclass(frozen=True)
class LogEntry(_Model):
    """One captured log line."""

    id: int
    exec_id: str
    checkpoint: str | None
    timestamp: datetime | None
    stream: str
    level: str
    message: str


@dataclass(frozen=True)
class Execution(_Model):
    """One run of a flow with its inputs."""

    exec_id: str
    flow_name: str
    status: ExecutionStatus
    stack: str
    created_at: datetime | None
    updated_at: datetime | None
    ended_at: datetime | None
    original_exec_id: str | None
    replay_from: str | None
    failure: FailureInfo | None
    config: dict[str, Any]
    metadata: dict[str, Any]
    runs: int
    checkpoints: list[CheckpointCall] = field(default_factory=list)
    pending_waits: list[PendingWait] = field(default_factory=list)
    owner: str | None = None  # on a server: the name of the principal that started it (its code runs as them)

    @property
    def duration_s(self) -> float | None:
        """Wall time from creation to end (or to now, while it runs)."""
        if self.created_at is None:
            return None
        end = self.ended_at or datetime.now(timezone.utc)
        return (end - self.created_at).total_seconds()


@dataclass(frozen=True)
class ArtifactRef(_Model):
    """A stored value: a named artifact or a checkpoint output. `load()` returns the value."""

    exec_id: str
    name: str
    type: str
    sha256: str
    size: int
    serializer: str
    store: str
    tags: list[str] = field(default_factory=list)
    checkpoint: str | None = None
    created_at: datetime | None = None
    type_ref: str | None = None

    def load(self) -> Any:
        """Fetch and deserialize the value (hash-verified)."""
        from kitaru.artifacts import get_value
        from kitaru.stacks import store_from_root

        return get_value(store_from_root(self.store), {"sha256": self.sha256, "size": self.size,
                                                      "serializer": self.serializer, "type": self.type_ref})
