"""A pure-ASGI lane for the runtime's two hottest requests: the output-cache lookup before a
checkpoint runs and the commit after it completed.

Every checkpoint of every remote runtime sends `GET /api/v1/cache/{key}` (checkpoints are cached
by default) and `POST /api/v1/executions/{id}/calls/complete`. Through FastAPI's routing,
dependency solving and response classes each costs several times the CPU of the work itself, so
this middleware answers them directly: same body model (`CompleteCall`), same token check, same
state-service call, same error mapping. It only handles requests it can answer exactly as the
route would; anything else (no or a wrong token, another execution's token, an invalid or
oversized body, another content type, a query string) falls through to FastAPI untouched, which
then answers as usual.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import ValidationError

from kitaru.server._deps import may_write
from kitaru.server._errors import classify_error, error_body
from kitaru.server._models import CompleteCall

log = logging.getLogger("kitaru.server")
_COMPLETE = re.compile(r"/api/v1/executions/([^/]{1,64})/calls/complete")
_CACHE = re.compile(r"/api/v1/cache/([0-9a-f]{64})")
_MAX_BODY = 1 << 20  # journal records hold references, not outputs; larger bodies take the normal route
_NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": []}
_DONE = {"type": "http.response.body", "body": b""}

Scope = dict[str, Any]


class CheckpointFastLane:
    """ASGI middleware: commit completed checkpoints without the framework round trip."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if scope["method"] == "POST" and (match := _COMPLETE.fullmatch(scope["path"])):
                await self._complete(match.group(1), scope, receive, send)
                return
            if scope["method"] == "GET" and not scope["query_string"] and (match := _CACHE.fullmatch(scope["path"])):
                await self._cached(match.group(1), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _cached(self, cache_key: str, scope: Scope, receive: Any, send: Any) -> None:
        """`GET /cache/{key}`: the caller's newest completed output with this key, as the route answers it."""
        auth = dict(scope["headers"]).get(b"authorization", b"")
        ctx = scope["app"].state.kitaru
        who = ctx.keyring.verify(auth[7:].decode("latin-1")) if auth[:7].lower() == b"bearer " else None
        if who is None:
            await self.app(scope, receive, send)  # FastAPI answers the 401
            return
        try:
            found = ctx.state.find_cached_output(cache_key, owner_id=who.sub)
        except Exception as exc:  # noqa: BLE001 - mapped exactly like the app's error handlers
            await _error(scope, send, exc)
            return
        if found is None:
            await _json(send, 404, error_body("NotFound", "cache entry does not exist"))
        else:
            await _json(send, 200, found)

    async def _complete(self, exec_id: str, scope: Scope, receive: Any, send: Any) -> None:
        """`POST /executions/{id}/calls/complete`: commit the call, exactly as the route would."""
        headers = _headers(scope)
        if headers is None:
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive, int(headers[b"content-length"]))
        replay = _replaying(body, receive)
        ctx = scope["app"].state.kitaru
        who = ctx.keyring.verify(headers[b"authorization"][7:].decode("latin-1"))
        allowed = who is not None and may_write(ctx, who, exec_id)
        request = _parse(body) if complete and allowed else None
        if request is None:
            await self.app(scope, replay, send)
            return
        try:
            ctx.state.complete_call(request.call.record(exec_id), request.attempt, owner=request.owner,
                                    output=request.output, metadata=request.metadata)
        except Exception as exc:  # noqa: BLE001 - mapped exactly like the app's error handlers
            await _error(scope, send, exc)
            return
        await send(_NO_CONTENT)
        await send(_DONE)


def _headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The request's headers if this lane may take it: a JSON body of known, bounded size and a bearer token."""
    found = dict(scope["headers"])
    length, auth = found.get(b"content-length", b""), found.get(b"authorization", b"")
    if not (length.isdigit() and int(length) <= _MAX_BODY and auth[:7].lower() == b"bearer "):
        return None
    if found.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json":
        return None
    return found


async def _read_body(receive: Any, length: int) -> tuple[bytes, bool]:
    """The whole body (False if the client went away or sent more than it announced)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), size == length
        if size > length:
            return b"".join(chunks), False


def _replaying(body: bytes, receive: Any) -> Any:
    """A `receive` that hands the already-read body to the app first, then defers to the real one."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> dict[str, Any]:
        return pending.pop() if pending else await receive()

    return replay


def _parse(body: bytes) -> CompleteCall | None:
    try:
        return CompleteCall.model_validate_json(body)
    except ValidationError:
        return None  # FastAPI answers with its 422 and the details


async def _error(scope: Scope, send: Any, exc: Exception) -> None:
    status, type_, message = classify_error(exc)
    if status >= 500:
        log.error("POST %s failed: %s", scope["path"], type(exc).__name__, exc_info=exc)
    await _json(send, status, error_body(type_, message))


async def _json(send: Any, status: int, document: Any) -> None:
    body = json.dumps(document, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
