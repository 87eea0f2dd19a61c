"""What clients see: executions, checkpoint calls, attempts, waits, artifacts, logs.

Field names follow the Kitaru 0.4 client models (`Execution.stack_name`, `CheckpointCall.checkpoint_type`,
`LogEntry.checkpoint_name`, …); this project's extra fields (`stack`, `invocation_id`, `sha256`, …) stay too.
"""

from __future__ import annotations

import enum
from dataclasses import Field, dataclass, field, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from kitaru._status import ExecutionStatus  # defined once for the SDK and the client
from kitaru.errors import FailureOrigin

if TYPE_CHECKING:
    from kitaru.client._client import KitaruClient


def ts(value: float | None) -> datetime | None:
    """Store timestamp (epoch seconds) → aware UTC datetime."""
    return None if value is None else datetime.fromtimestamp(value, tz=timezone.utc)


def _jsonable(v: Any) -> Any:
    if isinstance(v, _Model):
        return v.to_dict()
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


class _Model:
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # every model is a dataclass

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the public fields: enums as values, datetimes as ISO-8601 UTC."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)
                if not f.name.startswith("_")}


def _hidden() -> Any:
    """A private field: not compared, not shown, not serialized (e.g. the client a model came from)."""
    return field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class FailureInfo(_Model):
    """Why an execution, checkpoint call or attempt failed."""

    message: str
    exception_type: str | None = None
    traceback: str | None = None
    origin: FailureOrigin = FailureOrigin.UNKNOWN
    # this project's extras
    reason: str = ""
    type: str | None = None
    checkpoint: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckpointAttempt(_Model):
    """One attempt of a checkpoint call."""

    attempt_id: str
    status: ExecutionStatus
    started_at: datetime | None
    ended_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)
    failure: FailureInfo | None = None
    # this project's extras
    attempt: int = 1
    error: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class PendingWait(_Model):
    """A wait that needs an answer."""

    wait_id: str
    name: str
    question: str | None
    schema: dict[str, Any] | None
    metadata: dict[str, Any] = field(default_factory=dict)
    entered_waiting_at: datetime | None = None
    # this project's extras
    exec_id: str = ""
    status: str = "pending"
    created_at: datetime | None = None
    answer: Any = None


@dataclass(frozen=True, kw_only=True)
class LogEntry(_Model):
    """One captured log line; `timestamp` is an ISO-8601 string."""

    message: str
    level: str | None = None
    timestamp: str | None = None
    source: str = "step"
    checkpoint_name: str | None = None
    module: str | None = None
    filename: str | None = None
    lineno: int | None = None
    # this project's extras
    id: int = 0
    exec_id: str = ""
    checkpoint: str | None = None  # the invocation id of the checkpoint call that wrote it
    stream: str = "stdout"

    @property
    def time(self) -> datetime | None:
        """The timestamp as an aware datetime."""
        return None if self.timestamp is None else datetime.fromisoformat(self.timestamp.replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class ArtifactRef(_Model):
    """A stored value: a named artifact (`kitaru.save`) or a checkpoint output. `load()` returns the value."""

    artifact_id: str
    name: str
    kind: str
    save_type: str
    producing_call: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # this project's extras
    exec_id: str = ""
    type: str = ""
    sha256: str = ""
    size: int = 0
    serializer: str = ""
    store: str = ""
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


@dataclass(frozen=True, kw_only=True)
class CheckpointCall(_Model):
    """One call of a checkpoint (or llm call, or wait) inside an execution."""

    call_id: str
    name: str
    status: ExecutionStatus
    started_at: datetime | None
    ended_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)
    original_call_id: str | None = None
    parent_call_ids: list[str] = field(default_factory=list)
    failure: FailureInfo | None = None
    attempts: list[CheckpointAttempt] = field(default_factory=list)
    artifacts: list[ArtifactRef] = field(default_factory=list)
    checkpoint_type: str | None = None
    # this project's extras
    exec_id: str = ""
    invocation_id: str = ""
    seq: int = 0
    type: str = "checkpoint"
    duration_s: float | None = None
    input_preview: str | None = None
    input_hash: str | None = None
    output: dict[str, Any] | None = None
    reused_from: str | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Execution(_Model):
    """One run of a flow with its inputs, plus the actions a client can take on it."""

    exec_id: str
    flow_id: str | None
    flow_name: str
    status: ExecutionStatus
    started_at: datetime | None
    ended_at: datetime | None
    stack_name: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    status_reason: str | None = None
    failure: FailureInfo | None = None
    pending_wait: PendingWait | None = None
    frozen_execution_spec: dict[str, Any] | None = None
    original_exec_id: str | None = None
    checkpoints: list[CheckpointCall] = field(default_factory=list)
    artifacts: list[ArtifactRef] = field(default_factory=list)
    # this project's extras
    stack: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    replay_from: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    runs: int = 0
    pending_waits: list[PendingWait] = field(default_factory=list)
    orchestrator: str | None = None
    """The orchestrator flavor its latest runner was dispatched to (None: only ran in the starting process)."""
    job_id: str | None = None
    dispatched_at: datetime | None = None
    owner: str | None = None  # on a server: the name of the principal that started it (its code runs as them)
    _client: KitaruClient | None = _hidden()

    @property
    def duration_s(self) -> float | None:
        """Wall time from creation to end (or to now, while it runs)."""
        if self.created_at is None:
            return None
        end = self.ended_at or datetime.now(timezone.utc)
        return (end - self.created_at).total_seconds()

    @property
    def checkpoint_count(self) -> int:
        """How many checkpoint calls the execution has made."""
        return len(self.checkpoints)

    @property
    def artifact_count(self) -> int:
        """How many artifacts (saved values and checkpoint outputs) it has."""
        return len(self.artifacts)

    def _api(self) -> KitaruClient:
        if self._client is not None:
            return self._client
        from kitaru.client._client import KitaruClient

        return KitaruClient()

    def refresh(self) -> Execution:
        """This execution as it is now (a new object; models are immutable)."""
        return self._api().executions.get(self.exec_id)

    def retry(self) -> Execution:
        """Retry this failed execution from its last completed checkpoint."""
        return self._api().executions.retry(self.exec_id)

    def resume(self) -> Execution:
        """Resume this waiting (answered) or failed execution."""
        return self._api().executions.resume(self.exec_id)

    def cancel(self) -> Execution:
        """Cancel this execution."""
        return self._api().executions.cancel(self.exec_id)

    def replay(self, *, from_: str, overrides: dict[str, Any] | None = None, **inputs: Any) -> Execution:
        """A new execution reusing this one's outputs before `from_`."""
        return self._api().executions.replay(self.exec_id, from_=from_, overrides=overrides, **inputs)

    def list_checkpoints(self) -> list[CheckpointCall]:
        """The checkpoint calls with their attempts (loaded now)."""
        return self.refresh().checkpoints

    def list_artifacts(self, **filters: Any) -> list[ArtifactRef]:
        """The execution's artifacts (`name=`, `kind=`, `producing_call=`, `limit=` filter them)."""
        return self._api().artifacts.list(self.exec_id, **filters)
