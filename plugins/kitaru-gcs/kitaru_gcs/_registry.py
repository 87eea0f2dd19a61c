"""The `gcp` container registry (Artifact Registry): image URIs and OAuth-token docker credentials.

`docker login -u oauth2accesstoken -p TOKEN REGION-docker.pkg.dev`; tokens live at most 1 h. With
`reader_service_account` / `writer_service_account`, pull and push tokens are minted for those (narrower)
service accounts by impersonation instead of the component's own identity.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.plugins import Access, Credentials, RegistryAccess, RegistryCredentials
from kitaru_gcs._auth import CLOUD_PLATFORM, fresh_token, identity
from kitaru_gcs._config import GCPRegistryConfig

USERNAME = "oauth2accesstoken"


class ArtifactRegistry:
    """Images under `REGION-docker.pkg.dev/PROJECT/REPO`."""

    flavor = "gcp"

    def __init__(self, config: GCPRegistryConfig) -> None:
        self.config = config
        self.uri = config.uri
        self.host = config.uri.split("/", 1)[0]

    def image_uri(self, name: str, tag: str = "latest") -> str:
        """`<uri>/<name>:<tag>`."""
        return f"{self.uri}/{name}:{tag}"

    def _token_source(self, access: RegistryAccess) -> Any:
        creds = identity(self.config)
        target = self.config.writer_service_account if access == "push" else self.config.reader_service_account
        if not target:
            return creds
        from google.auth import impersonated_credentials

        extra = {}
        if self.config.iam_endpoint_url:  # a base URL (tests, private endpoints); google-auth wants the full one
            base = self.config.iam_endpoint_url.rstrip("/")
            extra["iam_endpoint_override"] = f"{base}/v1/projects/-/serviceAccounts/{target}:generateAccessToken"

        return impersonated_credentials.Credentials(source_credentials=creds, target_principal=target,
                                                    target_scopes=[CLOUD_PLATFORM],
                                                    lifetime=self.config.token_lifetime, **extra)

    def credentials(self, access: RegistryAccess = "pull") -> RegistryCredentials:
        """Docker credentials: username `oauth2accesstoken`, password a short-lived OAuth access token."""
        if access not in ("pull", "push"):
            raise KitaruUsageError(f"access must be 'pull' or 'push', got {access!r}")
        if self.config.anonymous:
            return RegistryCredentials(self.host, "", "", access, None)  # public repositories only
        source = self._token_source(access)
        token = fresh_token(source)
        cap = datetime.now(UTC) + timedelta(seconds=self.config.token_lifetime)
        expiry = source.expiry.replace(tzinfo=UTC) if getattr(source, "expiry", None) else cap
        return RegistryCredentials(self.host, USERNAME, token, access, min(expiry, cap))

    def mint_credentials(self, scope: str = "", *, access: Access = "read", ttl: int = 3600) -> Credentials:
        """The same token as `Credentials` (read → pull, write → push), for a broker that serves registries."""
        creds = self.credentials("push" if access == "write" else "pull")
        expires = creds.expires_at or datetime.now(UTC) + timedelta(seconds=min(ttl, 3600))
        return Credentials("gcp", access, scope, expires, {"registry": creds.registry, "username": creds.username,
                                                           "password": creds.password})
