"""Kitaru plugin for Vertex AI: the `vertex` orchestrator (one CustomJob per execution).

Importing this module is cheap (no Google client): the client loads when a component is built.
`kitaru_vertex.testing` has a loopback fake of the JobService REST API whose jobs run as local processes.
"""

from __future__ import annotations

from typing import Any

from kitaru.plugins import ComponentContext, ComponentRegistry, hookimpl
from kitaru_vertex._config import VertexOrchestratorConfig
from kitaru_vertex._errors import (
    VertexError,
    VertexForbiddenError,
    VertexJobNotFoundError,
    VertexUnreachableError,
    VertexUsageError,
)

__version__ = "0.1.0"
__all__ = [
    "DISPATCH_PERMISSIONS",
    "VertexError",
    "VertexForbiddenError",
    "VertexJobNotFoundError",
    "VertexOrchestratorConfig",
    "VertexUnreachableError",
    "VertexUsageError",
    "kitaru_register_components",
]

DISPATCH_PERMISSIONS = (
    "aiplatform.customJobs.create",
    "aiplatform.customJobs.get",
    "aiplatform.customJobs.cancel",
    "logging.logEntries.list",
    "iam.serviceAccounts.actAs",  # on the runner service account only
)
"""What the dispatch service account's custom role holds: exactly what submit/status/cancel/logs use."""


def _make_orchestrator(config: VertexOrchestratorConfig, ctx: ComponentContext) -> Any:
    from kitaru_vertex._orchestrator import VertexOrchestrator

    return VertexOrchestrator(config, broker=ctx.broker)  # connected to a server: a brokered dispatch token


@hookimpl
def kitaru_register_components(registry: ComponentRegistry) -> None:
    """Register the `vertex` orchestrator flavor."""
    registry.add_orchestrator("vertex", config=VertexOrchestratorConfig, factory=_make_orchestrator,
                              description="one Vertex AI CustomJob per execution", remote=True)
