"""The public plugin API: hook markers, the component registry, component protocols, the manager facade.

A plugin is a module (or object) with `@hookimpl` functions, exposed through an entry point in
the group `kitaru`:

    @hookimpl
    def kitaru_register_components(registry):
        registry.add_artifact_store("s3", config=S3Config, factory=make_store, schemes=("s3",), from_root=...)

Importing this package is cheap (a runner that never dispatches does not pay for pluggy or pydantic):
each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru.artifacts import Serializer, SerializerRegistry
    from kitaru.plugins._hookspecs import hookimpl, hookspec
    from kitaru.plugins._known import KNOWN_FLAVORS, install_hint
    from kitaru.plugins._manager import PluginInfo, PluginManager, get_plugin_manager, reset_plugin_manager
    from kitaru.plugins._protocols import (
        TERMINAL_JOB_STATES,
        Access,
        ArtifactStore,
        ComponentContext,
        ContainerRegistry,
        CredentialBroker,
        Credentials,
        JobSpec,
        JobState,
        JobStatus,
        Orchestrator,
        RegistryAccess,
        RegistryCredentials,
    )
    from kitaru.plugins._registry import KINDS, ComponentRegistry, Flavor, Kind

__all__ = [
    "KINDS",
    "KNOWN_FLAVORS",
    "TERMINAL_JOB_STATES",
    "Access",
    "ArtifactStore",
    "ComponentContext",
    "ComponentRegistry",
    "ContainerRegistry",
    "CredentialBroker",
    "Credentials",
    "Flavor",
    "JobSpec",
    "JobState",
    "JobStatus",
    "Kind",
    "Orchestrator",
    "PluginInfo",
    "PluginManager",
    "RegistryAccess",
    "RegistryCredentials",
    "Serializer",
    "SerializerRegistry",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "install_hint",
    "reset_plugin_manager",
]

_WHERE = {
    "Serializer": "kitaru.artifacts", "SerializerRegistry": "kitaru.artifacts",
    "hookimpl": "kitaru.plugins._hookspecs", "hookspec": "kitaru.plugins._hookspecs",
    "KNOWN_FLAVORS": "kitaru.plugins._known", "install_hint": "kitaru.plugins._known",
    "PluginInfo": "kitaru.plugins._manager", "PluginManager": "kitaru.plugins._manager",
    "get_plugin_manager": "kitaru.plugins._manager", "reset_plugin_manager": "kitaru.plugins._manager",
    "KINDS": "kitaru.plugins._registry", "ComponentRegistry": "kitaru.plugins._registry",
    "Flavor": "kitaru.plugins._registry", "Kind": "kitaru.plugins._registry",
    **{name: "kitaru.plugins._protocols" for name in (
        "TERMINAL_JOB_STATES", "Access", "ArtifactStore", "ComponentContext", "ContainerRegistry", "CredentialBroker",
        "Credentials", "JobSpec", "JobState", "JobStatus", "Orchestrator", "RegistryAccess", "RegistryCredentials")},
}


def __getattr__(name: str) -> Any:
    """Load the implementation module on first use of a name."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kitaru.plugins' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
