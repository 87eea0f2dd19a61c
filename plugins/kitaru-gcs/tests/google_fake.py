"""A loopback stand-in for Google's token endpoints, speaking their wire protocol to google-auth:
OAuth2 (`/token`, service-account JWT grant), STS (`/v1/token`, token exchange with an access boundary)
and IAM Credentials (`generateAccessToken`, impersonation). It records every request it gets."""

from __future__ import annotations

import json
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class GoogleFake:
    """`with GoogleFake() as g:` → `g.url`; `g.sts_requests` are the parsed STS forms; `g.refuse_sts` a reason."""

    def __init__(self) -> None:
        self.oauth_requests: list[dict[str, str]] = []
        self.sts_requests: list[dict[str, str]] = []
        self.iam_requests: list[tuple[str, dict[str, Any]]] = []
        self.issued: set[str] = set()
        self.boundaries: dict[str, dict[str, Any]] = {}  # downscoped token -> the access boundary it carries
        self.refuse_sts: str | None = None
        self.sts_lifetime = 3600
        self._n = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                status, payload = fake._handle(self.path, body, self.headers.get("Authorization", ""))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _token(self, kind: str) -> str:
        with self._lock:
            self._n += 1
            token = f"{kind}-token-{self._n}"
        self.issued.add(token)
        return token

    def _handle(self, path: str, body: str, auth: str) -> tuple[int, dict[str, Any]]:
        if path == "/token":
            form = dict(urllib.parse.parse_qsl(body))
            self.oauth_requests.append(form)
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not form.get("assertion"):
                return 400, {"error": "unsupported_grant_type"}
            return 200, {"access_token": self._token("server-own"), "expires_in": 3600, "token_type": "Bearer"}
        if path == "/v1/token":
            form = dict(urllib.parse.parse_qsl(body))
            self.sts_requests.append(form)
            if self.refuse_sts:
                return 400, {"error": "invalid_request", "error_description": self.refuse_sts}
            if form.get("subject_token") not in self.issued:
                return 401, {"error": "invalid_grant", "error_description": "unknown subject token"}
            token = self._token("downscoped")
            self.boundaries[token] = json.loads(urllib.parse.unquote(form.get("options", "%7B%7D")))
            return 200, {"access_token": token, "expires_in": self.sts_lifetime,
                         "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                         "token_type": "Bearer"}
        if path.endswith(":generateAccessToken"):
            request = json.loads(body or "{}")
            self.iam_requests.append((path, {**request, "authorization": auth}))
            if auth.removeprefix("Bearer ") not in self.issued:
                return 401, {"error": {"code": 401, "message": "unauthenticated"}}
            expire = datetime.now(UTC) + timedelta(seconds=int(request.get("lifetime", "3600s")[:-1]))
            return 200, {"accessToken": self._token("impersonated"),
                         "expireTime": expire.strftime("%Y-%m-%dT%H:%M:%SZ")}
        return 404, {"error": "not found"}

    def service_account_key(self, email: str = "kitaru-server@test-project.iam.gserviceaccount.com") -> str:
        """A fresh service-account JSON key whose token endpoint is this fake."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        return json.dumps({"type": "service_account", "project_id": "test-project", "private_key_id": "k1",
                           "private_key": pem, "client_email": email, "client_id": "1",
                           "token_uri": f"{self.url}/token"})

    def __enter__(self) -> GoogleFake:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
