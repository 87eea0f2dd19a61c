"""Typed component protocols: orchestrator, artifact store (from kitaru.artifacts), container registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from kitaru.artifacts._protocol import Access, ArtifactStore, Credentials

JobState = Literal["pending", "running", "succeeded", "failed", "cancelled"]
TERMINAL_JOB_STATES: tuple[JobState, ...] = ("succeeded", "failed", "cancelled")
RegistryAccess = Literal["pull", "push"]

__all__ = [
    "Access",
    "ArtifactStore",
    "ComponentContext",
    "ContainerRegistry",
    "CredentialBroker",
    "Credentials",
    "JobSpec",
    "JobState",
    "JobStatus",
    "Orchestrator",
    "RegistryAccess",
    "RegistryCredentials",
    "TERMINAL_JOB_STATES",
]


CredentialBroker = Callable[[Access], Credentials]
"""Mints short-lived credentials for one component (`access`: read or write), e.g. through the server."""


@dataclass(frozen=True)
class ComponentContext:
    """What a flavor factory gets besides its validated config.

    `broker` is set when this process is connected to a Kitaru server: the component should then act
    with credentials the server brokers (and refresh them before they expire) instead of the ambient
    cloud identity, unless its config names explicit credentials.
    """

    home: Path
    stack: str
    broker: CredentialBroker | None = None


@dataclass(frozen=True)
class JobSpec:
    """One unit of work for an orchestrator: usually `python -m kitaru.runtime EXEC_ID`; with `checkpoint` set,
    one isolated checkpoint call of that execution (`python -m kitaru.runtime EXEC_ID --checkpoint INV`)."""

    exec_id: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None
    image: str | None = None
    checkpoint: str | None = None


@dataclass(frozen=True)
class JobStatus:
    """Where a submitted job is in its lifecycle."""

    state: JobState
    message: str = ""
    exit_code: int | None = None

    @property
    def done(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.state in TERMINAL_JOB_STATES


@runtime_checkable
class Orchestrator(Protocol):
    """Runs executions somewhere: submit a job, follow it, cancel it, read its logs."""

    flavor: str
    remote: bool

    def submit(self, job: JobSpec) -> str: ...

    def status(self, job_id: str) -> JobStatus: ...

    def cancel(self, job_id: str) -> None: ...

    def logs(self, job_id: str) -> Iterator[str]: ...


@dataclass(frozen=True)
class RegistryCredentials:
    """Short-lived credentials to pull from or push to a container registry."""

    registry: str
    username: str
    password: str = field(repr=False)
    access: RegistryAccess = "pull"
    expires_at: datetime | None = None


@runtime_checkable
class ContainerRegistry(Protocol):
    """Where runtime images live: image URIs and pull/push credentials."""

    flavor: str
    uri: str

    def image_uri(self, name: str, tag: str = "latest") -> str: ...

    def credentials(self, access: RegistryAccess = "pull") -> RegistryCredentials: ...
