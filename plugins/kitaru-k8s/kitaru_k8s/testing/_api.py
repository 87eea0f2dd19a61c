"""The fake API server's HTTP side: the Kubernetes REST paths the plugin uses, errors as `Status` objects."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from kitaru_k8s.testing._store import now_rfc3339

if TYPE_CHECKING:
    from kitaru_k8s.testing import FakeCluster

# (pattern, api group, resource, kind)
_ROUTES: list[tuple[re.Pattern[str], str, str, str]] = [
    (re.compile(r"/apis/batch/v1/namespaces/(?P<ns>[^/]+)/jobs(?:/(?P<name>[^/]+)(?P<sub>/status)?)?"),
     "batch", "jobs", "Job"),
    (re.compile(r"/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/]+)(?P<sub>/log)?)?"), "", "pods", "Pod"),
    (re.compile(r"/api/v1/namespaces/(?P<ns>[^/]+)/secrets(?:/(?P<name>[^/]+))?"), "", "secrets", "Secret"),
    (re.compile(r"/api/v1/namespaces/(?P<ns>[^/]+)/events"), "", "events", "Event"),
    (re.compile(r"/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts/(?P<name>[^/]+)(?P<sub>/token)"),
     "", "serviceaccounts", "ServiceAccount"),
]
_API_VERSION = {"Job": "batch/v1", "Pod": "v1", "Secret": "v1", "Event": "v1"}


class ApiError(Exception):
    """An error answered as a Kubernetes `Status` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    """`jobs.batch "x" not found`, as the real API server says it."""
    qualified = f"{resource}.{group}" if group else resource
    details = {"name": name, "group": group, "kind": resource}
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', details)


class Handler(BaseHTTPRequestHandler):
    """One request against the fake cluster (`self.server.cluster`)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    @property
    def cluster(self) -> FakeCluster:
        return self.server.cluster  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _send(self, code: int, obj: Any, ctype: str = "application/json") -> None:
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _status(self, err: ApiError) -> None:
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": err.message,
                  "reason": err.reason, "code": err.code}
        if err.details:
            status["details"] = err.details
        self._send(err.code, status)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            raise ApiError(400, "BadRequest", "the request body is not JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        return data

    def _dispatch(self, method: str) -> None:
        url = urllib.parse.urlparse(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        try:
            body = self._body()
            for pattern, group, resource, kind in _ROUTES:
                match = pattern.fullmatch(url.path)
                if match:
                    self._route(method, match.groupdict(), group, resource, kind, query, body)
                    return
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        except ApiError as err:
            self._status(err)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _authorize(self, verb: str, group: str, resource: str, ns: str) -> None:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if token and token == self.cluster.admin_token:
            return
        entry = self.cluster.store.tokens.get(token)
        if entry is None or entry.expires < time.time():
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if not self.cluster.store.allowed(entry, verb, group, resource, ns):
            who = f"system:serviceaccount:{entry.namespace}:{entry.service_account}"
            where = f'{resource}{"." + group if group else ""}'
            raise ApiError(403, "Forbidden", f'{where} is forbidden: User "{who}" cannot {verb} resource'
                                             f' "{resource}" in API group "{group}" in the namespace "{ns}"',
                           {"kind": resource, "group": group})

    def _route(self, method: str, m: dict[str, Any], group: str, resource: str, kind: str, query: dict[str, str],
               body: dict[str, Any]) -> None:
        ns, name, sub = m["ns"], m.get("name"), m.get("sub")
        watch = query.get("watch") in ("true", "1")
        verb = {"POST": "create", "DELETE": "delete", "PUT": "update", "PATCH": "patch"}.get(
            method, "watch" if watch else "get" if name else "list")
        sub_resource = f"{resource}{sub}" if sub else resource
        self._authorize(verb, group, sub_resource, ns)
        if ns not in self.cluster.store.namespaces:
            raise ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})
        if kind == "ServiceAccount" and method == "POST" and name:
            return self._send(201, self.cluster.token_request(ns, name, body))
        if method == "POST" and not name:
            return self._send(201, self.cluster.create(kind, ns, body))
        if method == "DELETE" and name and kind == "Job":
            policy = query.get("propagationPolicy") or body.get("propagationPolicy") or "Background"
            self.cluster.delete_job(ns, name, policy)
            return self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                    "details": {"name": name, "group": group, "kind": resource}})
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"the fake cluster does not support {method} on {resource}")
        if sub == "/log" and name:
            return self._send(200, self.cluster.pod_log(ns, name), "text/plain")
        if name:
            obj = self.cluster.store.get(kind, ns, name)
            if obj is None:
                raise not_found(resource, name, group)
            return self._send(200, obj)
        items = [o for o in self.cluster.store.list(kind, ns) if _matches(o, query)]
        if watch:
            return self._watch(kind, ns, query, items)
        self._send(200, {"kind": f"{kind}List", "apiVersion": _API_VERSION[kind],
                         "metadata": {"resourceVersion": str(self.cluster.store.version)}, "items": items})

    def _watch(self, kind: str, ns: str, query: dict[str, str], items: list[dict[str, Any]]) -> None:
        """Newline-delimited JSON watch events (ADDED for what exists, then changes) until `timeoutSeconds`."""
        deadline = time.monotonic() + min(float(query.get("timeoutSeconds") or 60), 300)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        version = self.cluster.store.version
        lines = [{"type": "ADDED", "object": o} for o in items]
        while True:
            for event in lines:
                data = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            left = deadline - time.monotonic()
            if left <= 0 or self.cluster.store.closed:
                break
            version, new = self.cluster.store.events_after(version, min(left, 1.0))
            lines = [{"type": t, "object": o} for _, t, o in new
                     if o.get("kind", kind) == kind and o["metadata"].get("namespace") == ns and _matches(o, query)]
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _matches(obj: dict[str, Any], query: dict[str, str]) -> bool:
    """Equality-based `labelSelector` and `fieldSelector` (`metadata.name`, `involvedObject.name`, ...)."""
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (query.get("labelSelector") or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key.rstrip("!")) != value.lstrip("="):
            return False
    for term in filter(None, (query.get("fieldSelector") or "").split(",")):
        path, _, value = term.partition("=")
        current: Any = obj
        for part in path.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if str(current) != value.lstrip("="):
            return False
    return True


def decode_secret(secret: dict[str, Any]) -> dict[str, str]:
    """A Secret's `data` (base64) merged with `stringData`, as text."""
    out = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    out.update(secret.get("stringData") or {})
    return out


__all__ = ["ApiError", "Handler", "decode_secret", "not_found", "now_rfc3339"]
