"""The Kitaru client: `KitaruClient` and the models it returns."""

from kitaru.client._client import ArtifactsAPI, ExecutionsAPI, KitaruClient
from kitaru.client._models import (
    ArtifactRef,
    CheckpointAttempt,
    CheckpointCall,
    Execution,
    ExecutionStatus,
    FailureInfo,
    LogEntry,
    PendingWait,
)

__all__ = [
    "ArtifactRef",
    "ArtifactsAPI",
    "CheckpointAttempt",
    "CheckpointCall",
    "Execution",
    "ExecutionStatus",
    "ExecutionsAPI",
    "FailureInfo",
    "KitaruClient",
    "LogEntry",
    "PendingWait",
]
