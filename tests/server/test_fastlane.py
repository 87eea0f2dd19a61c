"""The checkpoint fast lane answers exactly as the FastAPI route would, and leaves every other request to it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from kitaru.auth import Principal, sign
from kitaru.server import create_app


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    app = create_app(f"sqlite:///{tmp_path / 'server.db'}", home=tmp_path)
    ctx = app.state.kitaru
    ctx.state.create_execution({"id": "e1", "flow_name": "f", "flow_source": {}, "inputs": {}}, owner="o",
                               lease_ttl=600)
    with TestClient(app) as client:
        yield client, ctx


def _token(ctx: Any, **claims: Any) -> dict[str, str]:
    """A token of a real principal (a token whose principal does not exist is refused)."""
    found = ctx.identity.get_principal("n") or ctx.identity.create_principal("n", kind="user", role="admin")
    who = Principal(**{"sub": found["id"], "name": "n", "role": "admin", "exp": time.time() + 600, **claims})
    return {"Authorization": f"Bearer {sign(who, ctx.signing_key)}"}


def _body(seq: int, owner: str = "o", **extra: Any) -> dict[str, Any]:
    call = {"invocation_id": f"step_{seq}", "seq": seq, "name": "step", "input_hash": "a" * 64}
    return {"call": call, "attempt": 1, "owner": owner, "output": {"sha256": "b" * 64}, **extra}


def _both(client: TestClient, headers: dict[str, str], body: Any) -> tuple[Any, Any]:
    """The same request through the lane (content-length known) and through FastAPI (a streamed body)."""
    raw = json.dumps(body).encode()
    lane = client.post("/api/v1/executions/e1/calls/complete", content=raw,
                       headers={**headers, "Content-Type": "application/json"})
    routed = client.post("/api/v1/executions/e1/calls/complete", content=iter([raw]),
                         headers={**headers, "Content-Type": "application/json"})
    return lane, routed


def _lane_alone(app: Any, headers: dict[str, str], body: Any) -> tuple[int | None, bool]:
    """Drive the lane with an inner app that only records being reached: (status it sent, fell through)."""
    from kitaru.server._fastlane import CheckpointFastLane

    raw, sent, reached = json.dumps(body).encode(), [], []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append((await receive())["body"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    wire = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    wire += [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    scope = {"type": "http", "method": "POST", "path": "/api/v1/executions/e1/calls/complete", "headers": wire,
             "app": app}
    asyncio.run(CheckpointFastLane(inner)(scope, receive, send))
    assert reached in ([], [raw])  # a request it leaves to FastAPI arrives with its whole body
    return (sent[0]["status"] if sent else None), bool(reached)


@pytest.mark.parametrize(("case", "headers", "body", "status", "error", "in_lane"), [
    ("commits", {}, _body(0), 204, None, True),
    ("lease lost", {}, _body(1, owner="intruder"), 409, "LeaseLost", True),
    ("invalid body", {}, {"call": {"seq": -1}}, 422, "ValidationError", False),
    ("another execution's token", {"exec": "e2", "role": "runtime"}, _body(2), 403, "Forbidden", False),
    ("own runtime token", {"exec": "e1", "role": "runtime"}, _body(3), 204, None, True),
    ("expired token", {"exp": time.time() - 1}, _body(4), 401, "Unauthorized", False),
])
def test_the_lane_answers_like_the_route(api: tuple[TestClient, Any], case: str, headers: dict[str, Any],
                                         body: Any, status: int, error: str | None, in_lane: bool) -> None:
    client, ctx = api
    token = _token(ctx, **headers)
    lane_status, fell_through = _lane_alone(client.app, token, {**body, "attempt": 2} if in_lane else body)
    assert (lane_status, fell_through) == ((status, False) if in_lane else (None, True)), case
    lane, routed = _both(client, token, body)
    assert lane.status_code == routed.status_code == status, (case, lane.text, routed.text)
    if error is not None:
        assert lane.json()["error"]["type"] == routed.json()["error"]["type"] == error
    if status == 204:
        journal = ctx.state.load_journal("e1")
        assert [c["status"] for c in journal if c["invocation_id"] == body["call"]["invocation_id"]] == ["completed"]


def test_without_a_token_or_json_it_is_left_to_fastapi(api: tuple[TestClient, Any]) -> None:
    client, ctx = api
    url = "/api/v1/executions/e1/calls/complete"
    assert client.post(url, json=_body(5)).json()["error"]["type"] == "Unauthorized"
    form = client.post(url, content=b"call=x", headers={**_token(ctx), "Content-Type": "text/plain"})
    assert form.status_code == 422
    assert ctx.state.load_journal("e1") == []


def test_retried_commits_stay_one_record(api: tuple[TestClient, Any]) -> None:
    client, ctx = api
    for _ in range(3):
        done = client.post("/api/v1/executions/e1/calls/complete", json=_body(7), headers=_token(ctx))
        assert done.status_code == 204
    assert [c["invocation_id"] for c in ctx.state.load_journal("e1")] == ["step_7"]
