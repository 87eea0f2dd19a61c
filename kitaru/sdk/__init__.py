"""The user-facing SDK surface: flow, checkpoint, wait, llm, log, save/load."""

from kitaru.sdk._api import (
    create_secret,
    current_execution_id,
    delete_secret,
    get_secret,
    list_secrets,
    load,
    log,
    save,
)
from kitaru.sdk._checkpoint import Checkpoint, CheckpointFuture, CheckpointFutures, checkpoint
from kitaru.sdk._flow import Flow, flow
from kitaru.sdk._handle import FlowHandle
from kitaru.sdk._llm import llm
from kitaru.sdk._wait import wait

__all__ = [
    "Checkpoint",
    "CheckpointFuture",
    "CheckpointFutures",
    "Flow",
    "FlowHandle",
    "checkpoint",
    "create_secret",
    "current_execution_id",
    "delete_secret",
    "flow",
    "get_secret",
    "list_secrets",
    "llm",
    "load",
    "log",
    "save",
    "wait",
]
