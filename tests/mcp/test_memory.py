"""Memory tools over stdio: set/get/history/list/delete, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mcp.support import call, call_error, mcp_client

pytestmark = pytest.mark.anyio


async def test_memory_set_get_history_list_delete(project: Path) -> None:
    async with mcp_client(project) as c:
        first = await call(c, "kitaru_memory_set", key="plan", value={"step": 1}, scope="agent")
        second = await call(c, "kitaru_memory_set", key="plan", value={"step": 2}, scope="agent")
        assert (first["version"], second["version"]) == (1, 2)
        got = await call(c, "kitaru_memory_get", key="plan", scope="agent")
        assert got["value"] == {"step": 2} and got["version"] == 2
        old = await call(c, "kitaru_memory_get", key="plan", scope="agent", version=1)
        assert old["value"] == {"step": 1}
        history = await call(c, "kitaru_memory_history", key="plan", scope="agent")
        assert [(e["version"], e["value"]) for e in history["items"]] == [(2, {"step": 2}), (1, {"step": 1})]
        listed = await call(c, "kitaru_memory_list", scope="agent")
        assert [e["key"] for e in listed["items"]] == ["plan"] and listed["items"][0]["value"] is None
        big = await call(c, "kitaru_memory_set", key="notes", value="x" * 10_000, scope="agent")
        assert big["version"] == 1
        cut = await call(c, "kitaru_memory_get", key="notes", scope="agent")
        assert cut["value_truncated"] is True and len(cut["value"]) == 4000
        deleted = await call(c, "kitaru_memory_delete", key="plan", scope="agent")
        assert deleted["deleted"] is True
        assert "not live" in await call_error(c, "kitaru_memory_delete", key="plan", scope="agent")
        assert "does not exist" in await call_error(c, "kitaru_memory_get", key="never", scope="agent")
        assert (await call(c, "kitaru_memory_compaction_log"))["items"] == []
