"""A loopback HTTP proxy in front of Azurite that can answer chosen requests with an error instead of forwarding
them (to test retries and failures at a precise step of an upload)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

Rule = Callable[[str, str], int | None]  # (method, path?query) -> status to answer with, or None to forward


class FaultProxy:
    """Forwards to `upstream`; `rules` decide which requests fail (and every request is recorded)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlparse(upstream)
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str, int]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                for rule in proxy.rules:
                    status = rule(self.command, self.path)
                    if status is not None:
                        proxy.seen.append((self.command, self.path, status))
                        payload = (f"<?xml version=\"1.0\"?><Error><Code>Injected{status}</Code>"
                                   f"<Message>injected by the test proxy</Message></Error>").encode()
                        self.send_response(status)
                        self.send_header("Content-Type", "application/xml")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"{proxy.upstream.hostname}:{proxy.upstream.port}"
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                proxy.seen.append((self.command, self.path, resp.status))
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.upstream.path}"

    def fail(self, status: int, *, times: int, when: Callable[[str, str], bool] = lambda m, p: True) -> None:
        """Answer the next `times` requests matching `when` with `status`."""
        left = [times]

        def rule(method: str, path: str) -> int | None:
            if left[0] > 0 and when(method, path):
                left[0] -= 1
                return status
            return None

        self.rules.append(rule)


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A running FaultProxy for the duration of the block."""
    proxy = FaultProxy(upstream)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
        thread.join(timeout=10)
