"""Request body limits, enforced before a body is read whole: 413 with the JSON error body.

Limits per route, configurable by environment (bytes):
`KITARU_SERVER_MAX_BODY` (default 1 MiB: metadata, journal records, stacks, secrets, answers),
`KITARU_SERVER_MAX_BATCH_BODY` (8 MiB: log batches and new executions carrying a replay's journal),
`KITARU_SERVER_MAX_AUTH_BODY` (64 KiB: the token exchange and everything else under /auth).
A declared Content-Length over the limit is refused without reading a byte; a body without one
(chunked) is counted as it arrives and refused as soon as it passes the limit.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

Scope = dict[str, Any]
MiB = 1 << 20


def _env_bytes(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class BodyLimits:
    """The byte limits of the three kinds of routes."""

    default: int = MiB
    batch: int = 8 * MiB
    auth: int = 64 * 1024

    @classmethod
    def from_env(cls) -> BodyLimits:
        """The limits configured by environment (defaults otherwise)."""
        return cls(default=_env_bytes("KITARU_SERVER_MAX_BODY", MiB),
                   batch=_env_bytes("KITARU_SERVER_MAX_BATCH_BODY", 8 * MiB),
                   auth=_env_bytes("KITARU_SERVER_MAX_AUTH_BODY", 64 * 1024))

    def for_path(self, path: str) -> int:
        """The limit of the route at `path`."""
        if path.startswith("/api/v1/auth/"):
            return self.auth
        if path.endswith("/logs") or path == "/api/v1/executions":
            return self.batch
        return self.default


def too_large_body(limit: int) -> bytes:
    """The 413 error body."""
    return json.dumps({"error": {"type": "PayloadTooLarge", "message": (
        f"the request body is larger than {limit} bytes, the limit of this route; send less (split log batches,"
        " keep metadata small and store large values with kitaru.save()) or raise the server's"
        " KITARU_SERVER_MAX_*_BODY setting")}}).encode()


class BodyLimit:
    """ASGI middleware: answer 413 to bodies over the route's limit, before the app reads them."""

    def __init__(self, app: Any, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits.from_env()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None:
            if length.isdigit() and int(length) <= limit:
                await self.app(scope, receive, send)  # the server never delivers more than was declared
                return
            await _refuse(send, limit, 413 if length.isdigit() else 400)
            return
        await _Counted(self.app, limit)(scope, receive, send)


class _Counted:
    """One request without a declared length: count what arrives, answer 413 once it passes `limit`."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit
        self.received, self.refused, self.started = 0, False, False

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        async def counted_receive() -> dict[str, Any]:
            if self.refused:
                return {"type": "http.disconnect"}
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.refused = True
                    if not self.started:
                        self.started = True
                        await _refuse(send, self.limit, 413)
                    return {"type": "http.disconnect"}  # the app stops reading; its answer is dropped
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if self.refused:
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.refused:
                raise


async def _refuse(send: Any, limit: int, status: int) -> None:
    body = too_large_body(limit) if status == 413 else json.dumps(
        {"error": {"type": "BadRequest", "message": "invalid Content-Length header"}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
