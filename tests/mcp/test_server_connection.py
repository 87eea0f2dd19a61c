"""The MCP server connected to a Kitaru server with a member's API key acts with the member's rights."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mcp.support import call, call_error, mcp_client, watch
from tests.server.support import ServerProcess, start_server
from tests.support import http

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv, cleanup = start_server("sqlite", tmp_path_factory.mktemp("mcp-srv"))
    yield srv
    cleanup()  # type: ignore[operator]


def principal_key(server: ServerProcess, name: str, role: str) -> str | None:
    """Create a user with `role` and an API key for it (None if the server has no such role)."""
    headers = {"Authorization": f"Bearer {server.token()}"}
    made = http.post(f"{server.url}/api/v1/users", json={"name": name, "role": role}, headers=headers, timeout=10)
    if made.status_code == 422:
        return None
    made.raise_for_status()
    key = http.post(f"{server.url}/api/v1/api-keys", json={"principal": name, "name": f"{name}-mcp"},
                    headers=headers, timeout=10)
    key.raise_for_status()
    return str(key.json()["api_key"])


def as_(server: ServerProcess, key: str) -> dict[str, str]:
    return {"KITARU_SERVER_URL": server.url, "KITARU_API_KEY": key}


async def test_member_runs_answers_cancels_but_cannot_administer_stacks(server: ServerProcess, project: Path) -> None:
    member = principal_key(server, "mcp-member", "member")
    assert member
    async with mcp_client(project, **as_(server, member)) as c:
        status = await call(c, "kitaru_status")
        assert status["connection"] == {"mode": "server", "url": server.url, "source": "KITARU_SERVER_URL"}
        started = await call(c, "kitaru_executions_run", target="flows.py:research", args={"topic": "srv"})
        assert (await watch(c, started["exec_id"]))["status"] == "completed"
        logs = await call(c, "get_execution_logs", exec_id=started["exec_id"])
        assert any("fetching srv" in line["message"] for line in logs["lines"])
        waiting = await call(c, "kitaru_executions_run", target="flows.py:approval", args={"item": "s1"})
        assert "boolean" in await call_error(c, "kitaru_executions_input", exec_id=waiting["exec_id"], value=3)
        await call(c, "kitaru_executions_input", exec_id=waiting["exec_id"], value=False)
        assert (await watch(c, waiting["exec_id"]))["status"] == "completed"
        other = await call(c, "kitaru_executions_run", target="flows.py:approval", args={"item": "s2"})
        assert (await call(c, "kitaru_executions_cancel", exec_id=other["exec_id"]))["status"] == "cancelled"
        refused = await call_error(c, "manage_stack", action="create", name="team")
        assert "admin" in refused
        assert [s["name"] for s in (await call(c, "kitaru_stacks_list"))["items"]] == ["default"]
        assert "does not exist" in await call_error(c, "kitaru_executions_get", exec_id="not-an-execution")
    async with mcp_client(project, **as_(server, server.admin_key)) as admin:
        assert (await call(admin, "manage_stack", action="create", name="team"))["stack"]["name"] == "team"


async def test_viewer_cannot_cancel(server: ServerProcess, project: Path) -> None:
    viewer = principal_key(server, "mcp-viewer", "viewer")
    if viewer is None:
        pytest.skip("this server has no `viewer` role yet (it comes with the sec-identity work)")
    member = principal_key(server, "mcp-member2", "member")
    assert member
    async with mcp_client(project, **as_(server, member)) as c:
        waiting = await call(c, "kitaru_executions_run", target="flows.py:approval", args={"item": "v"})
    async with mcp_client(project, **as_(server, viewer)) as c:
        assert (await call(c, "kitaru_executions_get", exec_id=waiting["exec_id"]))["status"] == "waiting"
        assert "read-only" in await call_error(c, "kitaru_executions_cancel", exec_id=waiting["exec_id"])
        assert "read-only" in await call_error(c, "kitaru_executions_input", exec_id=waiting["exec_id"], value=True)
        assert "read-only" in await call_error(c, "kitaru_executions_run", target="flows.py:research",
                                               args={"topic": "viewer"})
        got = await call(c, "kitaru_executions_get", exec_id=waiting["exec_id"])
        assert got["status"] == "waiting" and len(got["pending_waits"]) == 1  # nothing changed
        assert (await call(c, "kitaru_executions_list", limit=50))["items"][0]["exec_id"] == waiting["exec_id"]
