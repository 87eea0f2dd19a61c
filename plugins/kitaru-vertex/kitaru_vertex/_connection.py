"""Google credentials and clients: a brokered token, an explicit token (tests), or the ambient identity."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from kitaru.plugins import CredentialBroker

from kitaru_vertex._config import VertexOrchestratorConfig

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_REFRESH_MARGIN = timedelta(seconds=60)


class Connection:
    """Hands out a JobServiceClient and bearer tokens; with a broker, re-mints shortly before expiry."""

    def __init__(self, config: VertexOrchestratorConfig, broker: CredentialBroker | None = None) -> None:
        self.config, self.broker = config, broker
        self._lock = threading.Lock()
        self._client: Any = None
        self._credentials: Any = None
        self._expires_at: datetime | None = None

    def _fresh(self) -> bool:
        now = datetime.now(timezone.utc)
        return self._credentials is not None and (self._expires_at is None or now + _REFRESH_MARGIN < self._expires_at)

    def credentials(self) -> Any:
        """google-auth credentials with a valid token."""
        with self._lock:
            if not self._fresh():
                self._credentials, self._expires_at = self._load()
                self._client = None
            creds = self._credentials
        if not creds.valid:  # ambient credentials (ADC) refresh themselves
            import google.auth.transport.requests

            creds.refresh(google.auth.transport.requests.Request())
        return creds

    def _load(self) -> tuple[Any, datetime | None]:
        import google.oauth2.credentials

        if self.broker is not None and not self.config.access_token:  # a client of a server: brokered token
            minted = self.broker("write")
            return google.oauth2.credentials.Credentials(minted.values["access_token"]), minted.expires_at
        if self.config.access_token:
            return google.oauth2.credentials.Credentials(self.config.access_token), None
        import google.auth

        creds, _ = google.auth.default(scopes=SCOPES)
        return creds, None

    def token(self) -> str:
        """The current bearer token (for the IAM Credentials and Cloud Logging REST calls)."""
        return str(self.credentials().token)

    def jobs(self) -> Any:
        """The official `aiplatform_v1.JobServiceClient` (REST transport) on the configured endpoint."""
        creds = self.credentials()
        with self._lock:
            if self._client is None:
                from google.cloud import aiplatform_v1

                self._client = aiplatform_v1.JobServiceClient(
                    transport="rest", credentials=creds, client_options={"api_endpoint": self.config.endpoint})
            return self._client
