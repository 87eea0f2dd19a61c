"""Downscoped tokens: a Credential Access Boundary on bucket + prefix, exchanged at Google's STS.

Readers get `roles/storage.objectViewer`; writers get `objectCreator` + `objectViewer`: runtimes only
create content-addressed blobs (once, `ifGenerationMatch=0`), so they never need to overwrite or delete.
The server's own token is never returned: if STS does not downscope it, minting fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kitaru.errors import KitaruBackendError
from kitaru.plugins import Access

ROLES: dict[str, tuple[str, ...]] = {
    "read": ("inRole:roles/storage.objectViewer",),
    "write": ("inRole:roles/storage.objectCreator", "inRole:roles/storage.objectViewer"),
}
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
LIST_PREFIX = "api.getAttribute('storage.googleapis.com/objectListPrefix', '')"


def condition(bucket: str, prefix: str) -> str:
    """CEL: objects under `prefix/` (object names), or listings whose prefix starts with `prefix/`."""
    folder = f"{prefix}/" if prefix else ""
    if any(c in bucket + folder for c in "'\\"):
        raise KitaruBackendError(f"cannot build an access boundary for gs://{bucket}/{prefix}: quotes in the name")
    return (f"resource.name.startsWith('projects/_/buckets/{bucket}/objects/{folder}')"
            f" || {LIST_PREFIX}.startsWith('{folder}')")


def access_boundary(bucket: str, prefix: str, access: Access) -> dict[str, Any]:
    """The boundary JSON STS expects (`accessBoundary.accessBoundaryRules`)."""
    return {"accessBoundary": {"accessBoundaryRules": [{
        "availableResource": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "availablePermissions": list(ROLES[access]),
        "availabilityCondition": {"title": "kitaru-prefix", "expression": condition(bucket, prefix)},
    }]}}


def exchange(source_token: str, boundary: dict[str, Any], sts_endpoint: str) -> tuple[str, datetime]:
    """POST the token exchange to STS; the downscoped token and when it expires (fail closed on anything odd)."""
    import google.auth.transport.requests as gtr
    from google.oauth2 import sts

    try:
        resp = sts.Client(sts_endpoint).exchange_token(
            request=gtr.Request(), grant_type=GRANT_TYPE, subject_token=source_token, subject_token_type=TOKEN_TYPE,
            requested_token_type=TOKEN_TYPE, additional_options=boundary)
    except Exception as exc:  # noqa: BLE001 - any failure to downscope fails closed
        reason = _clean(exc, source_token)
        raise KitaruBackendError(f"Google STS refused to downscope the server's token ({sts_endpoint}): {reason}."
                                 " The server's identity must be a service account or user with an OAuth access"
                                 " token; Kitaru never hands out the server's own token") from None
    token = resp.get("access_token")
    if not token or token == source_token or resp.get("issued_token_type", TOKEN_TYPE) != TOKEN_TYPE:
        raise KitaruBackendError(f"Google STS ({sts_endpoint}) returned no downscoped access token; refusing to hand"
                                 " out credentials")
    try:
        lifetime = int(resp.get("expires_in", 0))
    except (TypeError, ValueError):
        lifetime = 0
    if lifetime <= 0:
        raise KitaruBackendError(f"Google STS ({sts_endpoint}) returned a token without a lifetime; refusing it")
    return str(token), datetime.now(UTC) + timedelta(seconds=lifetime)


def _clean(exc: BaseException, secret: str) -> str:
    return str(exc).replace(secret, "<server token>")[:500]
