"""Stacks: named compositions of an orchestrator, an artifact store and a container registry."""

from kitaru.stacks._resolve import DEFAULT_STACK, artifact_store_for_stack, store_from_root

__all__ = ["DEFAULT_STACK", "artifact_store_for_stack", "store_from_root"]
