"""Kitaru: durable execution for AI agents.

Write an agent as a `@flow` of `@checkpoint` calls; every completed checkpoint's output is
persisted, so a crashed, paused or replayed execution continues after the last completed
checkpoint instead of starting over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru._version import __version__
from kitaru.checkpoint import checkpoint  # the submodules first, so `import kitaru.llm` later keeps `kitaru.llm`
from kitaru.config._resolve import configure
from kitaru.errors import (
    FailureOrigin,
    KitaruBackendError,
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruFeatureNotAvailableError,
    KitaruLogRetrievalError,
    KitaruRuntimeError,
    KitaruStateError,
    KitaruUsageError,
    KitaruUserCodeError,
    KitaruWaitValidationError,
)
from kitaru.flow import flow
from kitaru.llm import llm
from kitaru.logging import log
from kitaru.sdk import (
    Checkpoint,
    CheckpointFuture,
    Flow,
    FlowHandle,
    create_secret,
    current_execution_id,
    delete_secret,
    get_secret,
    list_secrets,
    load,
    save,
)
from kitaru.wait import wait

if TYPE_CHECKING:
    from kitaru import memory
    from kitaru.client import ExecutionStatus, KitaruClient
    from kitaru.config import ImageSettings, KitaruConfig, connect
    from kitaru.stacks import StackInfo, create_stack, current_stack, delete_stack, list_stacks, use_stack
    from kitaru.store import disconnect

__all__ = [
    "Checkpoint",
    "CheckpointFuture",
    "ExecutionStatus",
    "FailureOrigin",
    "Flow",
    "FlowHandle",
    "ImageSettings",
    "KitaruBackendError",
    "KitaruClient",
    "KitaruConfig",
    "KitaruContextError",
    "KitaruDivergenceError",
    "KitaruError",
    "KitaruExecutionError",
    "KitaruFeatureNotAvailableError",
    "KitaruLogRetrievalError",
    "KitaruRuntimeError",
    "KitaruStateError",
    "KitaruUsageError",
    "KitaruUserCodeError",
    "KitaruWaitValidationError",
    "StackInfo",
    "__version__",
    "checkpoint",
    "configure",
    "connect",
    "create_secret",
    "create_stack",
    "current_execution_id",
    "current_stack",
    "delete_secret",
    "delete_stack",
    "disconnect",
    "flow",
    "get_secret",
    "list_secrets",
    "list_stacks",
    "llm",
    "load",
    "log",
    "memory",
    "save",
    "use_stack",
    "wait",
]

_LAZY = {
    "KitaruClient": "kitaru.client",
    "ExecutionStatus": "kitaru.client",
    "ImageSettings": "kitaru.config",
    "KitaruConfig": "kitaru.config",
    "connect": "kitaru.config",
    "disconnect": "kitaru.store",
    "StackInfo": "kitaru.stacks",
    "list_stacks": "kitaru.stacks",
    "current_stack": "kitaru.stacks",
    "use_stack": "kitaru.stacks",
    "create_stack": "kitaru.stacks",
    "delete_stack": "kitaru.stacks",
}
_LAZY_MODULES = {"memory", "replay", "client", "stacks", "store", "mcp", "adapters", "runtime"}



def __getattr__(name: str) -> Any:
    """Import heavier parts (client, stacks, server connection, memory) on first use."""
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"kitaru.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kitaru' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
