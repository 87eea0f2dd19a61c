"""Azure SDK errors turned into KitaruBackendErrors that say what went wrong and what to do next."""

from __future__ import annotations

from kitaru.errors import KitaruBackendError

_CONTAINER_MISSING = {"ContainerNotFound", "ContainerBeingDeleted"}
_DENIED = {"AuthorizationFailure", "AuthorizationPermissionMismatch", "AuthenticationFailed",
           "AuthorizationResourceTypeMismatch", "AuthorizationProtocolMismatch", "AuthorizationSourceIPMismatch",
           "InsufficientAccountPermissions", "KeyBasedAuthenticationNotPermitted"}


def error_code(exc: BaseException) -> str:
    """The service's error code (`x-ms-error-code`), as a plain string."""
    code = getattr(exc, "error_code", None) or ""
    return str(getattr(code, "value", code))


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return int(status) if isinstance(status, int) else None


def is_missing(exc: BaseException, *, blob_only: bool = False) -> bool:
    """A 404 for the blob itself (with `blob_only`, not when the whole container is missing)."""
    if _status(exc) != 404:
        return False
    return not (blob_only and error_code(exc) in _CONTAINER_MISSING)


def backend_error(exc: BaseException, what: str) -> KitaruBackendError:
    """A clear error for a failed storage call: missing container, denied, unreachable, or the service's word."""
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError

    code, status = error_code(exc), _status(exc)
    if isinstance(exc, ClientAuthenticationError) and status is None:  # no token at all: nothing was sent
        return KitaruBackendError(f"{what}: no Azure identity ({_first_line(exc)}). Connect to a Kitaru server (it"
                                  " brokers SAS tokens), sign in (workload/managed identity, `az login`), or set"
                                  " account_key / connection_string / sas_token in the stack as secret references")
    if code in _CONTAINER_MISSING:
        return KitaruBackendError(f"{what}: the container does not exist. Create it (`az storage container create"
                                  " --name CONTAINER --account-name ACCOUNT`) or fix the stack's artifact_store path")
    if code in _DENIED or status == 403 or isinstance(exc, ClientAuthenticationError):
        return KitaruBackendError(f"{what}: permission denied ({code or status or type(exc).__name__}). The identity or"
                                  " SAS in use lacks this permission, or it expired: check the role assignment of the"
                                  " server's identity (Storage Blob Data Contributor) or the stack's account key")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return KitaruBackendError(f"{what}: the storage endpoint is unreachable ({_first_line(exc)}). Check"
                                  " `account_url` / `account_name` in the stack and the network")
    return KitaruBackendError(f"{what}: {code or status or type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
