"""Vertex AI / Google API failures as Kitaru errors that say what to do next."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kitaru.errors import KitaruBackendError, KitaruUsageError

__all__ = ["VertexError", "VertexForbiddenError", "VertexJobNotFoundError", "VertexUnreachableError", "VertexUsageError",
           "translate_errors"]

DISPATCH_ROLE_HINT = ("grant the identity the permissions in the kitaru-vertex README (aiplatform.customJobs.create/"
                      "get/cancel, logging.logEntries.list, iam.serviceAccounts.actAs on the runner account)")


class VertexError(KitaruBackendError):
    """The Vertex AI (or IAM Credentials / Cloud Logging) API refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VertexForbiddenError(VertexError):
    """401/403: the identity in use may not do this (IAM), or its token expired."""


class VertexUnreachableError(VertexError):
    """The API endpoint could not be reached."""


class VertexJobNotFoundError(KitaruUsageError):
    """The job id does not name a CustomJob of this orchestrator."""


@contextmanager
def translate_errors(action: str, where: str) -> Iterator[None]:
    """Re-raise Google client errors of `action` (e.g. "create CustomJob") as Kitaru errors."""
    import requests
    from google.api_core import exceptions as gex
    from google.auth import exceptions as auth_ex

    try:
        yield
    except (gex.Unauthenticated, gex.Forbidden, gex.PermissionDenied) as exc:
        code: int | None = exc.code if isinstance(exc.code, int) else None
        hint = ("the token may have expired: log in again (`kitaru login`)" if isinstance(exc, gex.Unauthenticated)
                else DISPATCH_ROLE_HINT)
        raise VertexForbiddenError(f"Vertex AI refused to {action} in {where}: {exc.message}; {hint}",
                                   status=code) from None
    except gex.GoogleAPICallError as exc:
        code = exc.code if isinstance(exc.code, int) else None
        raise VertexError(f"Vertex AI could not {action} in {where}: {code} {exc.message}", status=code) from None
    except (requests.RequestException, OSError, gex.RetryError) as exc:
        raise VertexUnreachableError(
            f"cannot reach Vertex AI to {action} in {where}: {type(exc).__name__}: {exc}. Check the orchestrator's"
            " `region`/`api_endpoint` and the network") from None
    except auth_ex.GoogleAuthError as exc:  # a 401 on a bare token ends here (it cannot be refreshed)
        raise VertexForbiddenError(
            f"Google did not accept the credentials to {action} in {where} ({type(exc).__name__}: {exc}): the token"
            " may have expired or been revoked. Log in again (`kitaru login`); on the server, check its identity"
            " (`gcloud auth application-default login`, or the workload identity)", status=401) from None


class VertexUsageError(KitaruUsageError):
    """The orchestrator's configuration cannot do what was asked."""
