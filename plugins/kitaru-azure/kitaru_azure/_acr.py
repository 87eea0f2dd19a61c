"""The `acr` container registry: image URIs and pull/push credentials (a token/admin user, or Azure AD exchanged
for an ACR refresh token at `https://NAME.azurecr.io/oauth2/exchange`)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

from kitaru.errors import KitaruBackendError
from kitaru.plugins import RegistryAccess, RegistryCredentials
from kitaru_azure._config import ACRConfig

ACR_AAD_USER = "00000000-0000-0000-0000-000000000000"  # the user name docker login takes with an ACR refresh token
ARM_SCOPE = "https://management.azure.com/.default"


class ACRRegistry:
    """Images under `NAME.azurecr.io[/namespace]`."""

    flavor = "acr"

    def __init__(self, config: ACRConfig, *, token_credential: Any = None) -> None:
        self.config = config
        self.uri = config.uri
        self.login_server = config.uri.split("/", 1)[0]
        self._token_credential = token_credential

    def image_uri(self, name: str, tag: str = "latest") -> str:
        """`<uri>/<name>:<tag>`."""
        return f"{self.uri}/{name}:{tag}"

    def credentials(self, access: RegistryAccess = "pull") -> RegistryCredentials:
        """The configured user/password, else an ACR refresh token for the Azure AD identity (its RBAC role,
        AcrPull or AcrPush, decides what it may do)."""
        if self.config.username and self.config.password:
            return RegistryCredentials(self.login_server, self.config.username, self.config.password, access, None)
        credential = self._token_credential
        if credential is None:
            from kitaru_azure._clients import token_credential

            credential = token_credential()
        try:
            aad = credential.get_token(ARM_SCOPE).token
        except Exception as exc:
            raise KitaruBackendError(f"no Azure AD token for {self.login_server}: {exc}. Sign in (workload or managed"
                                     " identity, `az login`) or set username/password in the stack") from exc
        refresh = self._exchange(aad)
        return RegistryCredentials(self.login_server, ACR_AAD_USER, refresh, access, _jwt_expiry(refresh))

    def _exchange(self, aad_token: str) -> str:
        import httpx

        url = f"{self.config.login_server_url or 'https://' + self.login_server}/oauth2/exchange"
        form = {"grant_type": "access_token", "service": self.login_server, "access_token": aad_token}
        if self.config.tenant_id:
            form["tenant"] = self.config.tenant_id
        try:
            resp = httpx.post(url, data=form, timeout=30)
        except httpx.HTTPError as exc:
            raise KitaruBackendError(f"cannot reach {url}: {exc}") from exc
        if resp.status_code != 200:
            raise KitaruBackendError(f"ACR {self.login_server} refused the token exchange ({resp.status_code}):"
                                     f" {resp.text[:300]}. Give the identity AcrPull/AcrPush on the registry")
        token = resp.json().get("refresh_token")
        if not isinstance(token, str) or not token:
            raise KitaruBackendError(f"ACR {self.login_server} answered the token exchange without a refresh_token")
        return token


def _jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWT (ACR refresh tokens are JWTs), without verifying it."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), timezone.utc)
    except (IndexError, ValueError, KeyError, TypeError):
        return None
