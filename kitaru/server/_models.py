"""Request bodies of the REST API (responses are the store's records as JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Id = Field(min_length=1, max_length=64)
Name = Field(min_length=1, max_length=255)
Owner = Field(min_length=1, max_length=128)
Ttl = Field(gt=0, le=86400)


class Open(BaseModel):
    """A record with extra fields passed through to the store."""

    model_config = ConfigDict(extra="allow")


class ExecutionRecord(Open):
    """A new execution as the runtime describes it."""

    id: str = Id
    flow_name: str = Name
    flow_source: dict[str, Any]
    stack: str = Field(default="default", min_length=1, max_length=255)
    config: dict[str, Any] = Field(default_factory=dict)
    inputs: dict[str, Any]
    original_exec_id: str | None = Field(default=None, max_length=64)
    replay_from: str | None = Field(default=None, max_length=255)
    status: Literal["running", "waiting"] = "running"


class CreateExecution(BaseModel):
    """POST /executions (a replay carries its seeded journal, written in the same transaction)."""

    record: ExecutionRecord
    owner: str = Owner
    lease_ttl: float = Ttl
    seed: Seed | None = None


class Claim(BaseModel):
    """Take the lease of an execution."""

    owner: str = Owner
    lease_ttl: float = Ttl
    statuses: list[Literal["running", "waiting", "failed", "completed", "cancelled"]] = ["waiting", "failed"]


class Lease(BaseModel):
    """Renew a lease / check a boundary."""

    owner: str = Owner
    lease_ttl: float = Field(default=5.0, gt=0, le=86400)


class Finish(BaseModel):
    """End a runner's turn."""

    owner: str = Owner
    status: Literal["completed", "failed", "cancelled", "waiting"]
    result: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None


class Call(Open):
    """A checkpoint call as the runtime describes it."""

    invocation_id: str = Name
    seq: int = Field(ge=0, le=2**31 - 1)
    name: str = Name
    type: str = Field(default="checkpoint", min_length=1, max_length=32)
    input_hash: str | None = Field(default=None, max_length=64)
    input_preview: str | None = None
    cache_key: str | None = Field(default=None, max_length=64)
    started_at: float | None = None

    def record(self, exec_id: str) -> dict[str, Any]:
        """The call as the state service takes it (extra fields passed through)."""
        return {**self.model_dump(by_alias=True), "exec_id": exec_id}


class StartCall(BaseModel):
    """Mark a call running."""

    call: Call
    owner: str = Owner
    attempt: int | None = Field(default=None, ge=1, le=2**31 - 1)


class CompleteCall(BaseModel):
    """Commit a completed call."""

    call: Call
    attempt: int = Field(ge=0, le=2**31 - 1)
    owner: str = Owner
    output: dict[str, Any]
    metadata: dict[str, Any] | None = None


class FailCall(BaseModel):
    """Record a failed attempt (fenced by the lease, like a completion)."""

    call: Call
    attempt: int = Field(ge=0, le=2**31 - 1)
    owner: str = Owner
    error: dict[str, Any]
    final: bool
    metadata: dict[str, Any] | None = None


class ReusedCall(Call):
    """A call whose output came from the cache."""

    output: dict[str, Any]
    reused_from: str | None = Field(default=None, max_length=64)
    metadata: dict[str, Any] | None = None


class ReuseCall(BaseModel):
    """Record a cache hit."""

    call: ReusedCall
    owner: str = Owner


class SeededCall(ReusedCall):
    """A completed call copied into a replay."""


class SeededWait(Open):
    """An answered wait copied into a replay."""

    invocation_id: str = Name
    name: str = Name
    status: Literal["pending", "answered", "aborted"] = "answered"
    question: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    metadata: dict[str, Any] | None = None
    answer: Any = None


class Seed(BaseModel):
    """A replay's journal: completed calls and answered waits copied from the source."""

    calls: list[SeededCall] = Field(default_factory=list)
    waits: list[SeededWait] = Field(default_factory=list)


class OpenWait(Open):
    """A new pending wait."""

    invocation_id: str = Name
    name: str = Name
    question: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    metadata: dict[str, Any] | None = None


class ResolveWait(BaseModel):
    """Answer or abort a wait."""

    invocation_id: str = Name
    status: Literal["answered", "aborted"]
    answer: Any = None


class LogLine(BaseModel):
    """One captured log line."""

    invocation_id: str | None = Field(default=None, max_length=255)
    ts: float
    stream: str = Field(min_length=1, max_length=16)
    level: str = Field(min_length=1, max_length=16)
    message: str


class LogBatch(BaseModel):
    """A batch of log lines of one execution."""

    entries: list[LogLine] = Field(max_length=10000)


class Artifact(BaseModel):
    """A named artifact of an execution."""

    name: str = Name
    type: str = Field(min_length=1, max_length=32)
    tags: list[str] = Field(default_factory=list)
    ref: dict[str, Any]
    invocation_id: str | None = Field(default=None, max_length=255)


ContinueFrom = Literal["waiting", "failed"]


def _continue_from_both() -> list[ContinueFrom]:
    return ["waiting", "failed"]


class Continue(BaseModel):
    """Which statuses a continuation may take an execution from."""

    statuses: list[ContinueFrom] = Field(default_factory=_continue_from_both, max_length=2)


class Replay(BaseModel):
    """Replay from a checkpoint (name or invocation id) with checkpoint outputs overridden."""

    from_: str = Field(alias="from", min_length=1, max_length=255)
    overrides: dict[str, Any] | None = Field(default=None, description='{"checkpoint.<selector>": value, ...}')


class Dispatch(BaseModel):
    """Where an execution's runner was dispatched."""

    orchestrator: str = Field(min_length=1, max_length=64)
    job_id: str = Field(min_length=1, max_length=255)


class Metadata(BaseModel):
    """Metadata to merge."""

    metadata: dict[str, Any]


class Value(BaseModel):
    """A JSON value."""

    value: Any


class SecretData(BaseModel):
    """A secret's key/value pairs."""

    data: dict[str, str]


class ModelAlias(BaseModel):
    """A model alias."""

    model: str = Name
    secret: str | None = Field(default=None, max_length=255)


class StackSpec(BaseModel):
    """A stack composition."""

    spec: dict[str, Any]


class CredentialsRequest(BaseModel):
    """Ask for short-lived credentials for a stack component."""

    component: Literal["artifact_store", "orchestrator", "container_registry"] = "artifact_store"
    access: Literal["read", "write"] = "read"
    scope: str = Field(default="", max_length=1024)
    ttl: int = Field(default=900, ge=1, le=86400)  # capped at 3600 by the broker


class TokenRequest(BaseModel):
    """Exchange an API key for a bearer token."""

    api_key: str = Field(min_length=8, max_length=512)
    ttl: int | None = Field(default=None, ge=60, le=86400)


class NewPrincipal(BaseModel):
    """A new user or service account."""

    name: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Literal["admin", "member", "viewer"] = "member"


class NewKey(BaseModel):
    """A new API key."""

    principal: str | None = Field(default=None, max_length=255)
    name: str = Field(default="default", min_length=1, max_length=255)


CreateExecution.model_rebuild()


class CheckpointTarget(BaseModel):
    """Where a checkpoint job finds the function: its module (None: the flow's script) and qualified name."""

    model_config = ConfigDict(extra="forbid")

    module: str | None = Field(default=None, max_length=255)
    qualname: str = Field(min_length=1, max_length=255)


class CheckpointJobBody(BaseModel):
    """One attempt of an isolated checkpoint call, submitted by the execution's runtime (holding its lease)."""

    model_config = ConfigDict(extra="forbid")

    owner: str = Field(min_length=1, max_length=128)
    inv: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255)
    target: CheckpointTarget
    inputs: dict[str, Any]
    result: str = Field(min_length=1, max_length=1024)
