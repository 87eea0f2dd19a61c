"""The public plugin API: hook markers, the component registry, component protocols, the manager facade.

A plugin is a module (or object) with `@hookimpl` functions, exposed through an entry point in
the group `kitaru`:

    @hookimpl
    def kitaru_register_components(registry):
        registry.add_artifact_store("s3", config=S3Config, factory=make_store, schemes=("s3",), from_root=...)
"""

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
