"""A proxy in front of fake-gcs-server that enforces what GCS would: a known bearer token, and for a
downscoped token its Credential Access Boundary (evaluated with cel_eval), including that overwriting an
existing object needs delete permission. It logs (token kind, permission, verdict) per request."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from cel_eval import Request, allowed
from google_fake import GoogleFake

_OBJ = re.compile(r"^(?:/download)?/storage/v1/b/([^/]+)/o/(.+)$")
_LIST = re.compile(r"^/storage/v1/b/([^/]+)/o$")
_UPLOAD = re.compile(r"^/upload/storage/v1/b/([^/]+)/o$")


class BoundaryProxy:
    """`with BoundaryProxy(gcs_url, google) as p:` → `p.url`; `p.log` holds (token, permission, allowed)."""

    def __init__(self, upstream: str, google: GoogleFake) -> None:
        self.upstream, self.google = upstream, google
        self.log: list[tuple[str, str, bool]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                verdict = proxy._authorize(self.command, self.path, body, token)
                if verdict is not None:
                    data = json.dumps({"error": {"code": verdict, "message": "denied by the access boundary"}})
                    self.send_response(verdict)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data.encode())
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                r = requests.request(self.command, proxy.upstream + self.path, data=body, headers=headers,
                                     allow_redirects=False)
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() == "location":
                        v = v.replace(proxy.upstream, proxy.url)
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _request(self, method: str, path: str, body: bytes) -> list[Request]:
        url = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if "upload_id" in query:
            return []  # an upload session already authorized when it was opened
        if m := _UPLOAD.match(url.path):
            name = query.get("name") or _name_in(body)
            perms = [Request(unquote(m[1]), "storage.objects.create", object_name=name)]
            if query.get("ifGenerationMatch") != "0" and self._exists(m[1], name):
                perms.append(Request(unquote(m[1]), "storage.objects.delete", object_name=name))  # an overwrite
            return perms
        if m := _LIST.match(url.path):
            return [Request(unquote(m[1]), "storage.objects.list", list_prefix=query.get("prefix", ""))]
        if m := _OBJ.match(url.path):
            perm = {"GET": "storage.objects.get", "DELETE": "storage.objects.delete"}.get(method,
                                                                                          "storage.objects.update")
            return [Request(unquote(m[1]), perm, object_name=unquote(m[2]))]
        return [Request("?", "storage.buckets.get")]

    def _exists(self, bucket: str, name: str) -> bool:
        from urllib.parse import quote

        return requests.get(f"{self.upstream}/storage/v1/b/{bucket}/o/{quote(name, safe='')}").status_code == 200

    def _authorize(self, method: str, path: str, body: bytes, token: str) -> int | None:
        if token not in self.google.issued:
            self.log.append(("none", path, False))
            return 401
        boundary = self.google.boundaries.get(token)
        for req in self._request(method, path, body):
            ok = boundary is None or allowed(boundary, req)  # no boundary: the server's own token
            self.log.append((token.split("-token")[0], req.permission, ok))
            if not ok:
                return 403
        return None

    def __enter__(self) -> BoundaryProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _name_in(body: bytes) -> str:
    """The object name in an upload's JSON metadata (the first part of a multipart body, or the whole body)."""
    m = re.search(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"', body[:65536])
    return json.loads(b'"' + m[1] + b'"') if m else ""
