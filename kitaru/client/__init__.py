"""The Kitaru client: `KitaruClient` and the models it returns."""

from kitaru._status import ExecutionStatus
from kitaru.client._artifacts import ArtifactNotFoundError, ArtifactsAPI
from kitaru.client._client import ExecutionNotFoundError, ExecutionsAPI, KitaruClient, NoMatchingExecutionError
from kitaru.client._models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    FailureInfo,
    LogEntry,
    PendingWait,
)

__all__ = [
    "ArtifactNotFoundError",
    "ArtifactRef",
    "ArtifactsAPI",
    "CheckpointAttempt",
    "CheckpointCall",
    "Execution",
    "ExecutionNotFoundError",
    "ExecutionStatus",
    "ExecutionsAPI",
    "FailureInfo",
    "KitaruClient",
    "LogEntry",
    "NoMatchingExecutionError",
    "PendingWait",
]
