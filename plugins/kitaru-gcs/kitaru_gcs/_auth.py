"""Google credentials for a component: a service-account key, the ambient identity, or the Kitaru broker.

A brokered component never touches the ambient chain: its only token source is the server, asked again
(through google-auth's refresh) a few minutes before the current token expires.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.plugins import Access, CredentialBroker
from kitaru_gcs._config import GCPAccess

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


def identity(config: GCPAccess, scopes: tuple[str, ...] = (CLOUD_PLATFORM,)) -> Any:
    """The configured identity: the key in `service_account_key`, else anonymous (emulators), else ADC."""
    if config.service_account_key:
        from google.oauth2 import service_account

        try:
            info = json.loads(config.service_account_key)
            return service_account.Credentials.from_service_account_info(info, scopes=list(scopes))
        except (ValueError, KeyError) as exc:
            raise KitaruUsageError(f"service_account_key is not a service-account JSON key: {exc}") from None
    if config.anonymous:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, _ = google.auth.default(scopes=list(scopes))
    except DefaultCredentialsError as exc:
        raise KitaruBackendError("no Google Cloud identity found: set GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth"
                                 " application-default login`, or set service_account_key: {secret: NAME} in the"
                                 f" stack ({exc})") from None
    return creds


def brokered(broker: CredentialBroker, access: Access) -> Credentials:
    """Credentials whose only source is the Kitaru broker (refreshed by google-auth before they expire)."""
    from google.auth.credentials import Credentials

    class BrokeredCredentials(Credentials):
        """A downscoped access token minted by the Kitaru server for this stack's store."""

        def refresh(self, request: Any) -> None:
            creds = broker(access)
            if creds.flavor != "gcs" or not creds.values.get("access_token"):
                raise KitaruBackendError(f"the Kitaru server brokered {creds.flavor!r} credentials for a gcs store;"
                                         " re-register the stack (`kitaru stack register -f ...`)")
            self.token = creds.values["access_token"]
            self.expiry = creds.expires_at.astimezone(UTC).replace(tzinfo=None)  # google-auth: naive UTC

    new: Callable[[], Credentials] = BrokeredCredentials  # google-auth leaves Credentials.__init__ unannotated
    return new()


def fresh_token(creds: Any) -> str:
    """A valid access token of `creds` (refreshed if needed); KitaruBackendError if it has none to give."""
    import google.auth.transport.requests as gtr

    if not creds.valid:
        try:
            creds.refresh(gtr.Request())
        except Exception as exc:
            raise KitaruBackendError(f"the server's Google identity could not get an access token: {exc}") from exc
    if not creds.token:
        raise KitaruBackendError("the server's Google identity has no access token (anonymous?)")
    return str(creds.token)
