"""`kitaru.llm`: durable model calls (Kitaru 0.4 module path)."""

from kitaru.sdk._llm import llm

__all__ = ["llm"]
