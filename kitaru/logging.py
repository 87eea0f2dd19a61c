"""`kitaru.logging`: structured metadata on the running execution or checkpoint (Kitaru 0.4 module path)."""

from kitaru.sdk._api import log

__all__ = ["log"]
