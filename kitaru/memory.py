"""`kitaru.memory`: durable, versioned key-value state that outlives executions (Kitaru 0.4).

Not in this installation yet: every operation raises KitaruFeatureNotAvailableError.
"""

from __future__ import annotations

from typing import Any, NoReturn

from kitaru.errors import KitaruFeatureNotAvailableError

__all__ = ["configure", "delete", "get", "history", "list", "set"]

_PROVIDED_BY = "a later Kitaru release (durable memory is planned; track the Kitaru 0.4 compatibility issue)"


def _unavailable(operation: str) -> NoReturn:
    raise KitaruFeatureNotAvailableError(f"kitaru.memory.{operation}()", provided_by=_PROVIDED_BY)


def configure(*args: Any, **kwargs: Any) -> NoReturn:
    """Choose the memory scope (not available yet)."""
    _unavailable("configure")


def set(*args: Any, **kwargs: Any) -> NoReturn:  # noqa: A001 - the reference's name
    """Write a new version of a key (not available yet)."""
    _unavailable("set")


def get(*args: Any, **kwargs: Any) -> NoReturn:
    """Read a key's latest version (not available yet)."""
    _unavailable("get")


def list(*args: Any, **kwargs: Any) -> NoReturn:  # noqa: A001 - the reference's name
    """List keys of a scope (not available yet)."""
    _unavailable("list")


def history(*args: Any, **kwargs: Any) -> NoReturn:
    """Every version of a key (not available yet)."""
    _unavailable("history")


def delete(*args: Any, **kwargs: Any) -> NoReturn:
    """Tombstone a key (not available yet)."""
    _unavailable("delete")
