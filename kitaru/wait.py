"""`kitaru.wait`: pause a flow until a human or system answers (Kitaru 0.4 module path)."""

from kitaru.sdk._wait import wait

__all__ = ["wait"]
