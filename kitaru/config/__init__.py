"""Configuration: precedence-resolved `KitaruConfig`, `configure()`, connection, stacks, model aliases.

Everything Kitaru 0.4 code imports from `kitaru.config` is here; heavier parts load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kitaru.config._resolve import configure, reset_configuration, resolve_config

if TYPE_CHECKING:
    from kitaru.config._aliases import (
        ModelAliasEntry,
        ResolvedModelSelection,
        list_model_aliases,
        register_model_alias,
        resolve_model_selection,
    )
    from kitaru.config._connect import ConnectionConfig, connect, login_to_server, resolve_connection_config
    from kitaru.config._frozen import FrozenExecutionSpec
    from kitaru.config._models import ImageSettings, KitaruConfig
    from kitaru.stacks import StackInfo, create_stack, current_stack, delete_stack, list_stacks, use_stack

__all__ = [
    "ConnectionConfig",
    "FrozenExecutionSpec",
    "ImageSettings",
    "KitaruConfig",
    "ModelAliasEntry",
    "ResolvedModelSelection",
    "StackInfo",
    "configure",
    "connect",
    "create_stack",
    "current_stack",
    "delete_stack",
    "list_model_aliases",
    "list_stacks",
    "login_to_server",
    "register_model_alias",
    "reset_configuration",
    "resolve_config",
    "resolve_connection_config",
    "resolve_model_selection",
    "use_stack",
]

_WHERE = {
    "ImageSettings": "kitaru.config._models", "KitaruConfig": "kitaru.config._models",
    "ModelAliasEntry": "kitaru.config._aliases", "ResolvedModelSelection": "kitaru.config._aliases",
    "list_model_aliases": "kitaru.config._aliases", "register_model_alias": "kitaru.config._aliases",
    "resolve_model_selection": "kitaru.config._aliases",
    "ConnectionConfig": "kitaru.config._connect", "connect": "kitaru.config._connect",
    "login_to_server": "kitaru.config._connect", "resolve_connection_config": "kitaru.config._connect",
    "FrozenExecutionSpec": "kitaru.config._frozen",
    "StackInfo": "kitaru.stacks", "create_stack": "kitaru.stacks", "current_stack": "kitaru.stacks",
    "delete_stack": "kitaru.stacks", "list_stacks": "kitaru.stacks", "use_stack": "kitaru.stacks",
}


def __getattr__(name: str) -> Any:
    """Load the implementation on first use (`import kitaru` stays fast)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kitaru.config' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
