"""The stdio front: the first start records the SDK's answers; later starts answer from them, then hand over."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.support import KITARU_MCP, call, mcp_client

LEGACY = "2025-06-18"


class Raw:
    """A `kitaru-mcp` subprocess spoken to in raw JSON lines (the pre-2026 initialize handshake)."""

    def __init__(self, cwd: Path, cache: Path, stderr: Any = subprocess.DEVNULL) -> None:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "KITARU_WAIT_TIMEOUT": "0", "KITARU_DEBUG": "1"}
        self.proc = subprocess.Popen([KITARU_MCP], cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr)
        self.out: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=lambda: [self.out.put(x) for x in self.proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def send(self, msg: dict[str, Any]) -> None:
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", **msg}).encode() + b"\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def recv(self, timeout: float = 60) -> dict[str, Any]:
        return json.loads(self.out.get(timeout=timeout))  # type: ignore[no-any-return]

    def handshake(self) -> tuple[dict[str, Any], dict[str, Any], float]:
        t0 = time.monotonic()
        self.send({"id": 0, "method": "initialize", "params": {"protocolVersion": LEGACY, "capabilities": {},
                                                               "clientInfo": {"name": "raw", "version": "1"}}})
        init = self.recv()
        self.send({"method": "notifications/initialized"})
        self.send({"id": 1, "method": "tools/list", "params": {}})
        tools = self.recv()
        return init, tools, time.monotonic() - t0

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(timeout=30)


def test_legacy_handshake_from_the_snapshot_then_the_sdk_serves(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = Raw(project, cache)
    init1, tools1, _ = first.handshake()
    first.close()
    assert init1["result"]["protocolVersion"] == LEGACY and len(tools1["result"]["tools"]) == 25
    assert len(list((cache / "kitaru").glob("mcp-*.json"))) == 1

    second = Raw(project, cache)
    init2, tools2, _ = second.handshake()
    assert (init2, tools2) == (init1, tools1)  # the very answers the SDK gave
    second.send({"id": 2, "method": "tools/call", "params": {"name": "kitaru_executions_list", "arguments": {}}})
    second.send({"id": 3, "method": "tools/call", "params": {"name": "kitaru_executions_get",
                                                             "arguments": {"exec_id": "missing"}}})
    answers = {m["id"]: m for m in (second.recv(), second.recv())}
    assert answers[2]["result"]["structuredContent"]["items"] == []
    assert answers[3]["result"]["isError"] is True
    second.close()
    assert second.proc.returncode == 0


def test_a_corrupt_snapshot_is_ignored(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = Raw(project, cache)
    first.handshake()
    first.close()
    snap = next((cache / "kitaru").glob("mcp-*.json"))
    snap.write_text("{not json")
    raw = Raw(project, cache)
    init, tools, _ = raw.handshake()
    raw.close()
    assert init["result"]["protocolVersion"] == LEGACY and len(tools["result"]["tools"]) == 25
    assert json.loads(snap.read_text())  # re-recorded


@pytest.mark.anyio
async def test_sdk_client_twice_same_tools(project: Path) -> None:
    async with mcp_client(project) as c:
        first = [t.model_dump() for t in (await c.list_tools()).tools]
    async with mcp_client(project) as c:
        assert [t.model_dump() for t in (await c.list_tools()).tools] == first
        assert (await call(c, "kitaru_executions_list"))["items"] == []


FAILING = """
import kitaru


@kitaru.checkpoint
def explode(n: int) -> int:
    raise ValueError(f"bad n {n}")


@kitaru.flow
def fragile(n: int) -> int:
    return explode(n)


@kitaru.flow
def fine(n: int) -> int:
    return n
"""


def _seed(project: Path) -> None:
    """Executions to list: completed ones and a failed one (its failure is part of the summary)."""
    (project / "seeded.py").write_text(FAILING)
    code = "import seeded\nfor i in range(3): seeded.fine.run(n=i).wait()\nseeded.fragile.run(n=7).wait()\n"
    subprocess.run([sys.executable, "-c", code], cwd=project, check=False, timeout=120, capture_output=True)


def test_the_front_answers_a_light_list_exactly_as_the_sdk_then_hands_over(project: Path, tmp_path: Path) -> None:
    _seed(project)
    cache, log = tmp_path / "cache", tmp_path / "stderr.log"
    first = Raw(project, cache)
    first.handshake()  # no snapshot yet: the SDK answers, and its first tools/call answer records the envelope
    first.send({"id": 2, "method": "tools/call", "params": {"name": "kitaru_executions_list", "arguments": {}}})
    assert first.recv()["result"]["isError"] is False
    first.close()

    with log.open("wb") as err:
        second = Raw(project, cache, stderr=err)
        second.handshake()
        listing = {"name": "kitaru_executions_list", "arguments": {"limit": 3}}
        second.send({"id": 2, "method": "tools/call", "params": listing})  # right away: the SDK is still loading
        front = second.recv()
        second.send({"id": 3, "method": "ping"})  # the front hands the connection over at the first other request
        assert second.recv()["id"] == 3
        second.send({"id": 4, "method": "tools/call", "params": listing})
        sdk = second.recv()
        second.send({"id": 5, "method": "tools/call", "params": {"name": "kitaru_executions_list",
                                                                 "arguments": {"limit": 500}}})
        too_many = second.recv()
        second.close()
    assert "the stdio front answered kitaru_executions_list" in log.read_text()
    assert front["id"] == 2 and sdk["id"] == 4
    assert front["result"] == sdk["result"]  # byte-for-byte the SDK's answer: content text, structure, envelope
    items = front["result"]["structuredContent"]["items"]
    assert [i["status"] for i in items] == ["failed", "completed", "completed"]
    assert "bad n 7" in items[0]["failure"]["message"] and front["result"]["structuredContent"]["next_page"] == 2
    assert too_many["result"]["isError"] is True  # bounds are the SDK's: the front never answers what it rejects


@pytest.mark.parametrize("arguments", [{"limit": "5"}, {"limit": 0}, {"limit": True}, {"status": "bogus"},
                                       {"unknown": 1}, {"page": 1.5}])
def test_the_front_leaves_anything_unusual_to_the_sdk(project: Path, tmp_path: Path, arguments: dict) -> None:
    from kitaru.mcp._light import fast_call

    assert fast_call("kitaru_executions_list", arguments) is None
    assert fast_call("kitaru_executions_cancel", {"exec_id": "x"}) is None  # only the light read tools


def test_light_fields_match_the_published_models() -> None:
    from kitaru.mcp import _light, _schemas

    assert tuple(_schemas.ExecutionSummary.model_fields) == _light.SUMMARY_FIELDS
    assert tuple(_schemas.Failure.model_fields) == _light.FAILURE_FIELDS
    assert tuple(_schemas.ExecutionPage.model_fields) == ("items", "page", "limit", "next_page")
