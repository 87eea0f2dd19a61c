"""Kitaru plugin for Amazon SageMaker: the `sagemaker` orchestrator (one training job per execution).

Importing this module is cheap (no boto3): the client loads when a component is built.
`kitaru_sagemaker.testing.FakeSageMaker` is a loopback control plane whose jobs run as local processes.
"""

from __future__ import annotations

from typing import Any

from kitaru.plugins import ComponentContext, ComponentRegistry, hookimpl
from kitaru_sagemaker._config import SageMakerOrchestratorConfig
from kitaru_sagemaker._errors import SageMakerError, SageMakerJobNotFoundError
from kitaru_sagemaker._policy import DISPATCH_ACTIONS, dispatch_policy

__version__ = "0.1.0"
__all__ = ["DISPATCH_ACTIONS", "SageMakerError", "SageMakerJobNotFoundError", "SageMakerOrchestratorConfig",
           "dispatch_policy", "kitaru_register_components"]


def _make_orchestrator(config: SageMakerOrchestratorConfig, ctx: ComponentContext) -> Any:
    from kitaru_sagemaker._orchestrator import SageMakerOrchestrator

    return SageMakerOrchestrator(config, broker=ctx.broker)  # connected to a server: brokered dispatch creds


@hookimpl
def kitaru_register_components(registry: ComponentRegistry) -> None:
    """Register the `sagemaker` orchestrator flavor."""
    registry.add_orchestrator("sagemaker", config=SageMakerOrchestratorConfig, factory=_make_orchestrator,
                              description="one Amazon SageMaker training job per execution", remote=True)
