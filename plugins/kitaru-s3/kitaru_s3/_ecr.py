"""The `ecr` container registry: image URIs and pull/push credentials from `GetAuthorizationToken`."""

from __future__ import annotations

import base64
from datetime import timezone

from kitaru.errors import KitaruBackendError
from kitaru.plugins import RegistryAccess, RegistryCredentials
from kitaru_s3._aws import client
from kitaru_s3._config import ECRConfig, ecr_account_and_region


class ECRRegistry:
    """Images under `<account>.dkr.ecr.<region>.amazonaws.com[/namespace]`."""

    flavor = "ecr"

    def __init__(self, config: ECRConfig) -> None:
        self.uri = config.uri
        self.account, region = ecr_account_and_region(config.uri)
        self._config = config.model_copy(update={"region": config.region or region})

    def image_uri(self, name: str, tag: str = "latest") -> str:
        """`<uri>/<name>:<tag>`."""
        return f"{self.uri}/{name}:{tag}"

    def credentials(self, access: RegistryAccess = "pull") -> RegistryCredentials:
        """A 12-hour registry token for the configured identity (its IAM policy decides push rights)."""
        ecr = client("ecr", self._config)
        try:
            data = ecr.get_authorization_token(registryIds=[self.account])["authorizationData"][0]
        except Exception as exc:
            raise KitaruBackendError(f"ECR refused an authorization token for {self.uri}: {exc}") from exc
        user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        expires = data.get("expiresAt")
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        registry = data.get("proxyEndpoint", "").removeprefix("https://") or self.uri.split("/", 1)[0]
        return RegistryCredentials(registry, user, password, access, expires)
