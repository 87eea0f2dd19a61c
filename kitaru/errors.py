"""The Kitaru error tree. Every error says what went wrong and what to do next.

    KitaruError
    ├── KitaruUsageError (ValueError)      wrong call, bad argument, bad config
    ├── KitaruContextError                 called from the wrong place (outside a flow, ...)
    ├── KitaruStateError                   the execution is not in a state that allows this
    ├── KitaruWaitValidationError          an answer does not match the wait's schema
    ├── KitaruBackendError                 the state store, artifact store or a provider failed
    └── KitaruRuntimeError                 the durable runtime failed
        └── KitaruExecutionError           an execution ended failed/cancelled
            ├── KitaruUserCodeError        ... because user code raised
            └── KitaruDivergenceError      ... because the body no longer matches its journal
"""

from __future__ import annotations

import enum

__all__ = [
    "FailureOrigin",
    "KitaruBackendError",
    "KitaruContextError",
    "KitaruDivergenceError",
    "KitaruError",
    "KitaruExecutionError",
    "KitaruRuntimeError",
    "KitaruStateError",
    "KitaruUsageError",
    "KitaruUserCodeError",
    "KitaruWaitValidationError",
]


class FailureOrigin(str, enum.Enum):
    """Where an execution's failure came from (a `str`, so comparing with "user_code" keeps working)."""

    USER_CODE = "user_code"  # the flow body or a checkpoint raised
    RUNTIME = "runtime"  # the durable runtime failed (e.g. its runner was lost)
    BACKEND = "backend"  # the state store, artifact store or a provider failed
    DIVERGENCE = "divergence"  # the re-run body contradicts its journal
    INFRASTRUCTURE = "infrastructure"  # compute failed: image pull, OOM, eviction, deadline
    CANCELLED = "cancelled"  # someone cancelled the execution
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: object) -> FailureOrigin:
        """The origin for a stored value; anything unrecognised is UNKNOWN."""
        try:
            return cls(str(getattr(value, "value", value)).strip().lower())
        except ValueError:
            return cls.UNKNOWN


class KitaruError(Exception):
    """Root of every error Kitaru raises on purpose."""


class KitaruUsageError(KitaruError, ValueError):
    """The API was called wrongly: a bad argument, target, selector or config value."""


class KitaruContextError(KitaruError):
    """A Kitaru primitive was called where it is not allowed (outside a flow, nested checkpoint)."""


class KitaruStateError(KitaruError):
    """The execution is not in a state that allows the operation (e.g. result of a running flow)."""


class KitaruWaitValidationError(KitaruError, ValueError):
    """An answer to a wait does not match the wait's schema; the wait stays pending."""


class KitaruBackendError(KitaruError):
    """A backend (state store, artifact store, server, model provider) failed or is unreachable."""


class KitaruRuntimeError(KitaruError):
    """The durable runtime could not carry out an execution."""


class KitaruExecutionError(KitaruRuntimeError):
    """An execution ended without a result: it failed or was cancelled."""

    def __init__(
        self,
        message: str,
        *,
        exec_id: str | None = None,
        status: str | None = None,
        failure_origin: str | None = None,
    ) -> None:
        super().__init__(message)
        self.exec_id = exec_id
        self.status = status
        self.failure_origin = failure_origin


class KitaruUserCodeError(KitaruExecutionError):
    """The execution failed because the flow or a checkpoint raised."""


class KitaruDivergenceError(KitaruExecutionError):
    """A re-run flow body called checkpoints in an order its journal contradicts."""
