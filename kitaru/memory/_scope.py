"""Which scope a memory call uses: an explicit scope, `configure()`, else the flow's name (in a flow) or `default`."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from kitaru.errors import KitaruContextError
from kitaru.store._memory import check_name, check_scope_type

DEFAULT_SCOPE = "default"
_lock = threading.Lock()
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-/]+")


@dataclass(frozen=True)
class MemoryConfig:
    """The process-wide memory defaults set by `kitaru.memory.configure()` (None: automatic)."""

    scope: str | None = None
    scope_type: str | None = None


_config = MemoryConfig()


def configure(scope: str | None = None, scope_type: str | None = None) -> MemoryConfig:
    """Set the default scope and/or scope type of memory calls in this process (None clears a field)."""
    global _config
    if scope is not None:
        check_name(scope, "scope")
    if scope_type is not None:
        check_scope_type(scope_type)
    with _lock:
        _config = MemoryConfig(scope=scope, scope_type=scope_type)
    return _config


def current_config() -> MemoryConfig:
    """The memory defaults in effect."""
    return _config


def resolve_scope(scope: str | None = None) -> tuple[str, str]:
    """(scope, scope_type) for a call: explicit > configured > flow name / execution id in a flow > `default`."""
    from kitaru.runtime._context import current_context

    cfg = _config
    if scope is not None:
        return check_name(scope, "scope"), cfg.scope_type or "namespace"
    if cfg.scope is not None:
        return cfg.scope, cfg.scope_type or "namespace"
    ctx = current_context()
    scope_type = cfg.scope_type or ("flow" if ctx is not None else "namespace")
    if scope_type == "namespace":
        return DEFAULT_SCOPE, "namespace"
    if ctx is None:
        raise KitaruContextError(
            f"memory scope_type={scope_type!r} needs a running flow to take its scope from; call it inside a @flow,"
            " or pass scope=... (or kitaru.memory.configure(scope=...))")
    if scope_type == "flow":
        return (_UNSAFE.sub("_", ctx.flow_name)[:255] or DEFAULT_SCOPE), "flow"
    return ctx.exec_id, "execution"
