"""`kitaru.checkpoint`: the `@checkpoint` decorator, its futures and runtimes (Kitaru 0.4 module path)."""

from kitaru.sdk._checkpoint import Checkpoint, CheckpointFuture, CheckpointFutures, CheckpointRuntime, checkpoint

__all__ = ["Checkpoint", "CheckpointFuture", "CheckpointFutures", "CheckpointRuntime", "checkpoint"]
