"""Loopback fake of an OpenAI-compatible and an Anthropic-compatible endpoint, for tests.

It records every request and can be told to fail with a status code a given number of times.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any
    at: float


@dataclass
class Failure:
    """A scripted failure: answer `status` for the next `times` requests."""

    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


class FakeLLMServer:
    """OpenAI (`*/chat/completions`) and Anthropic (`*/messages`) on 127.0.0.1, in a thread."""

    def __init__(self) -> None:
        """Create a stopped server with default replies."""
        self.requests: list[Recorded] = []
        self.failures: list[Failure] = []
        self.reply: str | None = None  # None: echo the last user message
        self.usage_in: int | None = 11  # None: answer without a usage field
        self.usage_out = 7
        self.delay = 0.0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- control ---------------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        """Bind an ephemeral loopback port and serve in a daemon thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def reset(self) -> None:
        """Forget recorded requests, scripted failures and custom replies."""
        with self._lock:
            self.requests.clear()
            self.failures.clear()
        self.reply, self.usage_in, self.usage_out, self.delay = None, 11, 7, 0.0

    def fail(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        message: str = "scripted failure",
    ) -> None:
        """Answer the next `times` requests with `status` (and Retry-After when given)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {"error": {"message": message, "type": "fake_error", "code": status}}
        with self._lock:
            self.failures.append(Failure(status, times, headers, body))

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    # -- serving ---------------------------------------------------------------------------
    def _next_failure(self) -> Failure | None:
        with self._lock:
            while self.failures and self.failures[0].times <= 0:
                self.failures.pop(0)
            if not self.failures:
                return None
            self.failures[0].times -= 1
            return self.failures[0]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            self.requests.append(
                Recorded(
                    h.command,
                    h.path,
                    {k.lower(): v for k, v in h.headers.items()},
                    body,
                    time.monotonic(),
                )
            )
        if self.delay:
            time.sleep(self.delay)
        failure = self._next_failure()
        if failure is not None:
            return self._send(h, failure.status, failure.body or {}, failure.headers)
        if h.command != "POST" or not isinstance(body, dict):
            return self._send(h, 404, {"error": {"message": f"no route {h.command} {h.path}"}})
        if h.path.endswith("/chat/completions"):
            return self._send(h, 200, self._openai(body))
        if h.path.endswith("/messages"):
            return self._send(h, 200, self._anthropic(body))
        return self._send(h, 404, {"error": {"message": f"no route {h.path}", "type": "not_found"}})

    def _text(self, messages: list[dict[str, Any]]) -> str:
        if self.reply is not None:
            return self.reply
        users = [m.get("content", "") for m in messages if m.get("role") == "user"]
        return "echo: " + (users[-1] if users else "")

    def _openai(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self._text(body.get("messages") or [])
        out: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        }
        if self.usage_in is not None:
            out["usage"] = {
                "prompt_tokens": self.usage_in,
                "completion_tokens": self.usage_out,
                "total_tokens": self.usage_in + self.usage_out,
            }
        return out

    def _anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self._text(body.get("messages") or [])
        out: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
        }
        if self.usage_in is not None:
            out["usage"] = {"input_tokens": self.usage_in, "output_tokens": self.usage_out}
        return out

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
