"""The Kitaru error tree. Every error says what went wrong and what to do next.

    KitaruError
    ├── KitaruUsageError (ValueError)          wrong call, bad argument, bad config
    │   └── KitaruWaitValidationError          an answer does not match the wait's schema
    ├── KitaruContextError (RuntimeError)      called from the wrong place (outside a flow, ...)
    ├── KitaruStateError (RuntimeError)        the execution is not in a state that allows this
    ├── KitaruFeatureNotAvailableError         the feature needs a package or part not installed here
    ├── KitaruLogRetrievalError                logs could not be read from their backend
    └── KitaruRuntimeError (RuntimeError)      the durable runtime failed
        ├── KitaruBackendError                 the state store, artifact store or a provider failed
        └── KitaruExecutionError               an execution ended failed/cancelled
            ├── KitaruUserCodeError            ... because user code raised
            └── KitaruDivergenceError          ... because the body no longer matches its journal

The bases match Kitaru 0.4, so `except RuntimeError` / `except ValueError` written for it still catch.
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
    "KitaruFeatureNotAvailableError",
    "KitaruLogRetrievalError",
    "KitaruRuntimeError",
    "KitaruStateError",
    "KitaruUsageError",
    "KitaruUserCodeError",
    "KitaruWaitValidationError",
]


class FailureOrigin(enum.StrEnum):
    """Where a failure came from; compares equal to its string value (`origin == "user_code"`)."""

    USER_CODE = "user_code"
    DIVERGENCE = "divergence"
    RUNTIME = "runtime"
    INFRASTRUCTURE = "infrastructure"
    BACKEND = "backend"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @classmethod
    def _missing_(cls, value: object) -> FailureOrigin:
        """An origin this version does not know (from a newer server) reads as UNKNOWN, never an error."""
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().lower():
                    return member
        return cls.UNKNOWN


class KitaruError(Exception):
    """Root of every error Kitaru raises on purpose."""


class KitaruUsageError(KitaruError, ValueError):
    """The API was called wrongly: a bad argument, target, selector or config value."""


class KitaruWaitValidationError(KitaruUsageError):
    """An answer to a wait does not match the wait's schema; the wait stays pending."""


class KitaruContextError(KitaruError, RuntimeError):
    """A Kitaru primitive was called where it is not allowed (outside a flow, nested checkpoint)."""


class KitaruStateError(KitaruError, RuntimeError):
    """The execution is not in a state that allows the operation (e.g. result of a running flow)."""


class KitaruFeatureNotAvailableError(KitaruError):
    """A feature this installation does not provide yet, or whose extra is not installed."""

    def __init__(self, feature: str, *, provided_by: str) -> None:
        super().__init__(f"{feature} is not available in this installation; it comes with {provided_by}")
        self.feature = feature
        self.provided_by = provided_by


class KitaruLogRetrievalError(KitaruError):
    """The logs of an execution could not be read from where they are kept."""


class KitaruRuntimeError(KitaruError, RuntimeError):
    """The durable runtime could not carry out an execution."""


class KitaruBackendError(KitaruRuntimeError):
    """A backend (state store, artifact store, server, model provider) failed or is unreachable."""

    __kitaru_origin__: str  # "backend" (or "runtime"): the failure's origin, set where the runtime raises it
    __kitaru_checkpoint__: str | None  # the checkpoint whose output or record could not be stored


class KitaruExecutionError(KitaruRuntimeError):
    """An execution ended without a result: it failed or was cancelled. `failure_origin` is a FailureOrigin."""

    def __init__(
        self,
        message: str,
        *,
        exec_id: str | None = None,
        status: str | None = None,
        failure_origin: FailureOrigin | str | None = None,
    ) -> None:
        super().__init__(message)
        self.exec_id = exec_id
        self.status = status
        self.failure_origin = FailureOrigin(failure_origin) if failure_origin is not None else None


class KitaruUserCodeError(KitaruExecutionError):
    """The execution failed because the flow or a checkpoint raised."""


class KitaruDivergenceError(KitaruExecutionError):
    """A re-run flow body called checkpoints in an order its journal contradicts."""
