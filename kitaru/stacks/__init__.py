"""Stacks: named compositions of an orchestrator, an artifact store and a container registry.

Importing this package is cheap: the plugin manager, pydantic and YAML load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru.stacks._resolve import (
        ResolvedStack,
        artifact_store_for_stack,
        resolve_stack,
        stack_layer,
        store_from_root,
    )
    from kitaru.stacks._service import (
        StackInfo,
        create_stack,
        current_stack,
        delete_stack,
        export_stack,
        get_stack,
        list_stacks,
        register_stack,
        use_stack,
    )
    from kitaru.stacks._yaml import StackSpecError

from kitaru.stacks._service import DEFAULT_STACK  # noqa: E402 - cheap: no plugins, pydantic or YAML

__all__ = [
    "DEFAULT_STACK",
    "ResolvedStack",
    "StackInfo",
    "StackSpecError",
    "artifact_store_for_stack",
    "create_stack",
    "current_stack",
    "delete_stack",
    "export_stack",
    "get_stack",
    "list_stacks",
    "register_stack",
    "resolve_stack",
    "stack_layer",
    "store_from_root",
    "use_stack",
]

_WHERE = {
    "ResolvedStack": "_resolve", "artifact_store_for_stack": "_resolve", "resolve_stack": "_resolve",
    "stack_layer": "_resolve", "store_from_root": "_resolve", "StackSpecError": "_yaml",
    "StackInfo": "_service", "create_stack": "_service", "current_stack": "_service", "delete_stack": "_service",
    "export_stack": "_service", "get_stack": "_service", "list_stacks": "_service", "register_stack": "_service",
    "use_stack": "_service",
}


def __getattr__(name: str) -> Any:
    """Load the implementation module on first use of a name."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kitaru.stacks' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kitaru.stacks.{module}"), name)
    globals()[name] = value
    return value
