"""Kitaru: durable execution for AI agents.

Write an agent as a `@flow` of `@checkpoint` calls; every completed checkpoint's output is
persisted, so a crashed, paused or replayed execution continues after the last completed
checkpoint instead of starting over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru._version import __version__
from kitaru.config._resolve import configure
from kitaru.errors import (
    KitaruBackendError,
    KitaruContextError,
    KitaruDivergenceError,
    KitaruError,
    KitaruExecutionError,
    KitaruRuntimeError,
    KitaruStateError,
    KitaruUsageError,
    KitaruUserCodeError,
    KitaruWaitValidationError,
)
from kitaru.sdk import (
    Checkpoint,
    CheckpointFuture,
    Flow,
    FlowHandle,
    checkpoint,
    create_secret,
    current_execution_id,
    delete_secret,
    flow,
    get_secret,
    list_secrets,
    llm,
    load,
    log,
    save,
    wait,
)

if TYPE_CHECKING:
    from kitaru import memory
    from kitaru.client import KitaruClient
    from kitaru.config import ImageSettings, KitaruConfig
    from kitaru.stacks import create_stack, current_stack, delete_stack, list_stacks, use_stack
    from kitaru.store import connect, disconnect

__all__ = [
    "Checkpoint",
    "CheckpointFuture",
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
    "KitaruRuntimeError",
    "KitaruStateError",
    "KitaruUsageError",
    "KitaruUserCodeError",
    "KitaruWaitValidationError",
    "__version__",
    "checkpoint",
    "configure",
    "connect",
    "create_secret",
    "create_stack",
    "current_stack",
    "current_execution_id",
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
    "ImageSettings": "kitaru.config",
    "KitaruConfig": "kitaru.config",
    "connect": "kitaru.store",
    "disconnect": "kitaru.store",
    "list_stacks": "kitaru.stacks",
    "current_stack": "kitaru.stacks",
    "use_stack": "kitaru.stacks",
    "create_stack": "kitaru.stacks",
    "delete_stack": "kitaru.stacks",
}

_SUBMODULES = frozenset({"memory"})


def __getattr__(name: str) -> Any:
    """Import heavier parts (client, stacks, server connection) on first use."""
    if name in _SUBMODULES:  # `kitaru.memory` without `import kitaru.memory`
        import importlib

        return importlib.import_module(f"kitaru.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kitaru' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
