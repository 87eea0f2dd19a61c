"""Kubernetes API failures as Kitaru errors that say what to do next."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kitaru.errors import KitaruBackendError, KitaruUsageError

__all__ = [
    "KubernetesError",
    "KubernetesForbiddenError",
    "KubernetesJobNotFoundError",
    "KubernetesNamespaceNotFoundError",
    "KubernetesUnreachableError",
    "translate_errors",
]


class KubernetesError(KitaruBackendError):
    """The Kubernetes API refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


class KubernetesForbiddenError(KubernetesError):
    """403: the identity in use may not do this in the namespace (RBAC)."""


class KubernetesUnreachableError(KubernetesError):
    """The API server could not be reached (wrong host, network, cluster down)."""


class KubernetesNamespaceNotFoundError(KitaruUsageError):
    """The configured namespace does not exist in the cluster."""


class KubernetesJobNotFoundError(KitaruUsageError):
    """The job id does not name a Job this orchestrator submitted."""


def status_of(exc: Any) -> dict[str, Any]:
    """The `Status` object in an ApiException's body ({} if there is none)."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


@contextmanager
def translate_errors(action: str, namespace: str, host: str) -> Iterator[None]:
    """Re-raise client errors of `action` (e.g. "create Job kitaru-x") as Kitaru errors."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except ApiException as exc:
        st = status_of(exc)
        message, reason = st.get("message") or exc.reason or "", st.get("reason") or exc.reason
        if exc.status == 403:
            raise KubernetesForbiddenError(
                f"Kubernetes refused to {action} in namespace {namespace!r}: {message}. Grant the identity the Role"
                f" from `kitaru_k8s.dispatch_role({namespace!r})` (check with `kubectl auth can-i create jobs"
                f" -n {namespace}`)", status=403, reason=reason) from None
        if exc.status == 401:
            raise KubernetesForbiddenError(
                f"Kubernetes did not accept the credentials to {action}: {message}. The token may have expired:"
                " log in again (`kitaru login`) or refresh the kubeconfig", status=401, reason=reason) from None
        details = st.get("details") or {}
        if exc.status == 404 and details.get("kind") == "namespaces":
            raise KubernetesNamespaceNotFoundError(
                f"namespace {namespace!r} does not exist on {host}; create it (`kubectl create namespace"
                f" {namespace}`) or set the stack's orchestrator `namespace`") from None
        raise KubernetesError(f"Kubernetes could not {action} in namespace {namespace!r}: {exc.status} {reason}:"
                              f" {message}", status=exc.status, reason=reason) from None
    except (HTTPError, OSError) as exc:
        raise KubernetesUnreachableError(
            f"cannot reach the Kubernetes API server at {host} to {action}: {type(exc).__name__}: {exc}. Check the"
            " orchestrator's `host`/`context` and that the cluster is up (`kubectl cluster-info`)") from None
