"""Retries (429/5xx/connection errors, exponential backoff) and clear errors for GCS calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kitaru.errors import KitaruBackendError

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def retry_policy(deadline: float) -> Any:
    """google-cloud-storage's retry predicate with backoff 0.5 s → 8 s (×2), giving up after `deadline` s."""
    from google.api_core.retry import Retry
    from google.cloud.storage.retry import _should_retry  # the library's own 429/5xx/connection predicate

    return Retry(predicate=_should_retry, initial=0.5, maximum=8.0, multiplier=2.0, timeout=deadline)


def transient_response(resp: Any) -> bool:
    """Whether a raw HTTP response is worth retrying; raise it as the matching google.api_core error if so."""
    if resp.status_code not in RETRYABLE_STATUS:
        return False
    from google.api_core.exceptions import from_http_response

    raise from_http_response(resp)


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return code
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _unreachable(exc: BaseException) -> bool:
    import requests
    from google.api_core.exceptions import RetryError
    from google.auth.exceptions import TransportError

    if isinstance(exc, RetryError):
        return exc.cause is None or _unreachable(exc.cause) or _status(exc.cause) in RETRYABLE_STATUS
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, TransportError, ConnectionError, TimeoutError))


@contextmanager
def gcs_errors(op: str, where: str) -> Iterator[None]:
    """Turn google/requests errors of `op` on `where` into KitaruBackendError saying what to do next."""
    from google.api_core.exceptions import GoogleAPIError

    try:
        yield
    except KitaruBackendError:
        raise
    except Exception as exc:
        bucket = where[5:].split("/", 1)[0]
        if _unreachable(exc):
            raise KitaruBackendError(f"cannot {op} {where}: the GCS endpoint did not answer ({exc}); check"
                                     " `endpoint_url` and the network, then retry") from exc
        status = _status(exc)
        if status == 404 and op in ("write", "list"):
            raise KitaruBackendError(f"cannot {op} {where}: the bucket {bucket!r} does not exist (create it with"
                                     f" `gcloud storage buckets create gs://{bucket}`) or is not visible to this"
                                     " identity") from exc
        if status in (401, 403):
            need = "roles/storage.objectViewer" if op in ("read", "list") else "roles/storage.objectCreator"
            raise KitaruBackendError(f"permission denied: cannot {op} {where}; the identity needs {need} on"
                                     f" gs://{bucket} (brokered credentials cover only the stack's prefix)") from exc
        if status is not None or isinstance(exc, GoogleAPIError):
            raise KitaruBackendError(f"GCS could not {op} {where}: {exc}") from exc
        raise
