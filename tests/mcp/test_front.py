"""The stdio front: the first start records the SDK's answers; later starts answer from them, then hand over."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.conftest import KITARU_MCP, call, mcp_client

LEGACY = "2025-06-18"


class Raw:
    """A `kitaru-mcp` subprocess spoken to in raw JSON lines (the pre-2026 initialize handshake)."""

    def __init__(self, cwd: Path, cache: Path) -> None:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "KITARU_WAIT_TIMEOUT": "0"}
        self.proc = subprocess.Popen([KITARU_MCP], cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
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
