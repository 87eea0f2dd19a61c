"""Kitaru plugin for Kubernetes: the `kubernetes` orchestrator (one batch/v1 Job per execution).

Importing this module is cheap (no `kubernetes` client): the client loads when a component is built.
`kitaru_k8s.testing` has a loopback fake API server whose kubelet runs each Job as a local process.
"""

from __future__ import annotations

from typing import Any

from kitaru.plugins import ComponentContext, ComponentRegistry, hookimpl
from kitaru_k8s._config import KubernetesOrchestratorConfig, PodSettings
from kitaru_k8s._errors import (
    KubernetesError,
    KubernetesForbiddenError,
    KubernetesJobNotFoundError,
    KubernetesNamespaceNotFoundError,
    KubernetesUnreachableError,
)

__version__ = "0.1.0"
__all__ = [
    "KubernetesError",
    "KubernetesForbiddenError",
    "KubernetesJobNotFoundError",
    "KubernetesNamespaceNotFoundError",
    "KubernetesOrchestratorConfig",
    "KubernetesUnreachableError",
    "PodSettings",
    "dispatch_rbac",
    "dispatch_role",
    "kitaru_cli",
    "kitaru_register_components",
]


def dispatch_rbac(namespace: str, service_account: str = "kitaru-dispatch") -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding manifests for dispatch tokens in `namespace`."""
    from kitaru_k8s._manifests import dispatch_rbac as build

    return build(namespace, service_account)


def dispatch_role(namespace: str, service_account: str = "kitaru-dispatch") -> dict[str, Any]:
    """The Role manifest: create/get/delete Jobs, create Secrets, read pods, pod logs and events."""
    return dispatch_rbac(namespace, service_account)[1]


def _make_orchestrator(config: KubernetesOrchestratorConfig, ctx: ComponentContext) -> Any:
    from kitaru_k8s._orchestrator import KubernetesOrchestrator

    return KubernetesOrchestrator(config, broker=ctx.broker)  # connected to a server: brokered dispatch token


@hookimpl
def kitaru_register_components(registry: ComponentRegistry) -> None:
    """Register the `kubernetes` orchestrator flavor."""
    registry.add_orchestrator("kubernetes", config=KubernetesOrchestratorConfig, factory=_make_orchestrator,
                              description="one Kubernetes batch/v1 Job per execution", remote=True)


@hookimpl
def kitaru_cli(app: Any) -> None:
    """Add `kitaru k8s …` (declared in the `kitaru.cli` entry points, so `kitaru --help` lists it unloaded)."""
    from kitaru_k8s._cli import app as k8s_app

    app.add_typer(k8s_app, name="k8s")
