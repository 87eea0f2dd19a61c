"""The `acr` registry: the shared conformance suite, and the Azure AD -> ACR refresh-token exchange against a
loopback server speaking ACR's `/oauth2/exchange` protocol (no real ACR can run here)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from kitaru_azure._acr import ACR_AAD_USER, ACRRegistry
from kitaru_azure._config import ACRConfig

from kitaru.errors import KitaruBackendError
from kitaru.testing import ContainerRegistryConformance


class TestACRWithToken(ContainerRegistryConformance):
    @pytest.fixture
    def registry(self) -> ACRRegistry:
        return ACRRegistry(ACRConfig(uri="acmeagents.azurecr.io/agents", username="kitaru-push",
                                     password="token-password-123"))

    def test_image_uri_and_static_credentials(self, registry: ACRRegistry) -> None:
        assert registry.image_uri("agent", "1.0") == "acmeagents.azurecr.io/agents/agent:1.0"
        creds = registry.credentials("push")
        assert (creds.registry, creds.username, creds.password) == ("acmeagents.azurecr.io", "kitaru-push",
                                                                      "token-password-123")


def _jwt(exp: int) -> str:
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part({'exp': exp, 'aud': 'acmeagents.azurecr.io'})}.sig"


class FakeAAD:
    """A TokenCredential stand-in: the identity's Azure AD access token."""

    def __init__(self, token: str = "aad-access-token") -> None:
        self.token, self.scopes = token, []  # type: ignore[var-annotated]

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def exchange() -> Iterator[dict[str, Any]]:
    """A loopback `/oauth2/exchange` endpoint: it accepts only the expected AAD token."""
    state: dict[str, Any] = {"forms": [], "refresh": _jwt(int(time.time()) + 3 * 3600)}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
            state["forms"].append((self.path, self.headers.get("Content-Type"), form))
            ok = self.path == "/oauth2/exchange" and form.get("access_token") == "aad-access-token"
            body = json.dumps({"refresh_token": state["refresh"]} if ok else {"errors": [{"code": "UNAUTHORIZED"}]})
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _registry(url: str, aad: FakeAAD, **extra: Any) -> ACRRegistry:
    return ACRRegistry(ACRConfig(uri="acmeagents.azurecr.io", login_server_url=url, **extra), token_credential=aad)


class TestACRWithAzureAD(ContainerRegistryConformance):
    @pytest.fixture
    def registry(self, exchange: dict[str, Any]) -> ACRRegistry:
        return _registry(exchange["url"], FakeAAD())

    def test_exchange_request_and_refresh_token(self, exchange: dict[str, Any]) -> None:
        aad = FakeAAD()
        creds = _registry(exchange["url"], aad, tenant_id="tenant-1").credentials("pull")
        assert creds.username == ACR_AAD_USER and creds.password == exchange["refresh"]
        assert creds.registry == "acmeagents.azurecr.io" and creds.expires_at is not None
        assert aad.scopes == [("https://management.azure.com/.default",)]
        path, content_type, form = exchange["forms"][-1]
        assert path == "/oauth2/exchange" and content_type == "application/x-www-form-urlencoded"
        assert form == {"grant_type": "access_token", "service": "acmeagents.azurecr.io",
                        "access_token": "aad-access-token", "tenant": "tenant-1"}

    def test_a_refused_exchange_is_a_clear_error(self, exchange: dict[str, Any]) -> None:
        with pytest.raises(KitaruBackendError, match="refused the token exchange.*AcrPull"):
            _registry(exchange["url"], FakeAAD("someone-else")).credentials("push")


def test_acr_config_validation() -> None:
    from pydantic import ValidationError

    for bad in ("docker.io/library/python", "acr.azurecr.io", "acme.azurecr.com", "Acme_Agents.azurecr.io"):
        with pytest.raises(ValidationError):
            ACRConfig(uri=bad)
    with pytest.raises(ValidationError):
        ACRConfig(uri="acmeagents.azurecr.io", login_server_url="http://acr.example.com")
    assert ACRConfig(uri="https://AcmeAgents.azurecr.io/ns/").uri == "acmeagents.azurecr.io/ns"
