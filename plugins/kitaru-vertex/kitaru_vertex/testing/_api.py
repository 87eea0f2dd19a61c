"""The fake's HTTP side: the JobService, IAM Credentials and Cloud Logging REST paths the plugin uses."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kitaru_vertex.testing import FakeVertex

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           405: "UNIMPLEMENTED", 409: "FAILED_PRECONDITION"}
_CREATE = re.compile(r"/v1/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/customJobs")
_JOB = re.compile(r"/v1/(?P<name>projects/[^/]+/locations/[^/]+/customJobs/\d+)(?P<verb>:cancel)?")
_MINT = re.compile(r"/v1/projects/-/serviceAccounts/(?P<account>[^/:]+):generateAccessToken")


class ApiError(Exception):
    """An error answered as a Google API error body (`{"error": {"code", "message", "status"}}`)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Handler(BaseHTTPRequestHandler):
    """One request against the fake (`self.server.fake`)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    @property
    def fake(self) -> FakeVertex:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _send(self, code: int, obj: Any) -> None:
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Invalid JSON payload received: expected an object.")
        return body

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            body = self._body() if method == "POST" else {}
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            self.fake.requests.append((method, path, body))
            self._send(200, self._route(method, path, body, token))
        except ApiError as err:
            self._send(err.code, {"error": {"code": err.code, "message": err.message,
                                            "status": _STATUS.get(err.code, "INTERNAL")}})

    def _route(self, method: str, path: str, body: dict[str, Any], token: str) -> Any:
        fake = self.fake
        if method == "POST" and (m := _CREATE.fullmatch(path)):
            fake.authorize(token, "aiplatform.customJobs.create")
            return fake.create(m["project"], m["region"], body)
        if m := _JOB.fullmatch(path):
            if method == "GET" and not m["verb"]:
                fake.authorize(token, "aiplatform.customJobs.get")
                return fake.get(m["name"])
            if method == "POST" and m["verb"]:
                fake.authorize(token, "aiplatform.customJobs.cancel")
                fake.cancel(m["name"])
                return {}
        if method == "POST" and path == "/v2/entries:list":
            fake.authorize(token, "logging.logEntries.list")
            return fake.log_entries(body)
        if method == "POST" and (m := _MINT.fullmatch(path)):
            fake.authorize(token, "iam.serviceAccounts.getAccessToken")
            return fake.mint(m["account"], body)
        raise ApiError(404, f"the fake Vertex AI does not serve {method} {path}")
