"""The MCP server over stdio, embedded store: schemas, run/watch/logs/artifacts, waits, replay, cancel, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.mcp.support import call, call_error, mcp_client, watch

pytestmark = pytest.mark.anyio

EXPECTED_TOOLS = {
    "kitaru_executions_list", "kitaru_executions_get", "kitaru_executions_latest", "get_execution_logs",
    "kitaru_executions_run", "kitaru_executions_cancel", "kitaru_executions_input", "kitaru_executions_retry",
    "kitaru_executions_replay", "kitaru_artifacts_list", "kitaru_artifacts_get", "kitaru_memory_list",
    "kitaru_memory_get", "kitaru_memory_set", "kitaru_memory_delete", "kitaru_memory_history",
    "kitaru_memory_compact", "kitaru_memory_purge", "kitaru_memory_purge_scope", "kitaru_memory_compaction_log",
    "kitaru_start_local_server", "kitaru_stop_local_server", "kitaru_status", "kitaru_stacks_list", "manage_stack",
}
DESTRUCTIVE = {"kitaru_executions_cancel", "kitaru_executions_input", "kitaru_executions_replay",
               "kitaru_executions_run", "kitaru_executions_retry", "kitaru_memory_purge", "kitaru_memory_purge_scope",
               "kitaru_memory_delete", "manage_stack", "kitaru_stop_local_server"}


async def test_tools_have_descriptions_typed_schemas_and_annotations(project: Path) -> None:
    async with mcp_client(project) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert set(tools) == EXPECTED_TOOLS
        for name, tool in tools.items():
            assert tool.description and len(tool.description) > 30, name
            assert tool.input_schema["type"] == "object", name
            assert tool.output_schema and tool.output_schema.get("type") == "object", name
            ann = tool.annotations
            assert ann is not None, name
            assert ann.destructive_hint is (name in DESTRUCTIVE), name
            if ann.read_only_hint:
                assert name not in DESTRUCTIVE and not name.endswith(("_set", "_run", "_compact")), name
        listing = tools["kitaru_executions_list"].input_schema["properties"]["limit"]
        assert listing["maximum"] == 100 and listing["minimum"] == 1
        run = tools["kitaru_executions_run"].input_schema
        assert run["required"] == ["target"] and {"args", "stack"} <= set(run["properties"])
        assert "exec_id" in tools["kitaru_executions_get"].output_schema["properties"]
        prompts = {p.name for p in (await c.list_prompts()).prompts}
        assert prompts == {"status_check", "start_and_watch", "resolve_waiting_execution", "plan_replay"}
        templates = {t.uri_template for t in (await c.list_resource_templates()).resource_templates}
        assert "kitaru://executions/{exec_id}/artifacts/{name}" in templates
        assert "kitaru://executions/{exec_id}/checkpoints" in templates


async def test_run_watch_logs_and_artifacts(project: Path) -> None:
    async with mcp_client(project) as c:
        started = await call(c, "kitaru_executions_run", target="flows.py:research", args={"topic": "ai"})
        exec_id = started["exec_id"]
        done = await watch(c, exec_id)
        assert done["status"] == "completed"
        assert [cp["name"] for cp in done["checkpoints"]] == ["fetch", "write"]
        page = await call(c, "kitaru_executions_list", limit=5)
        assert page["items"][0]["exec_id"] == exec_id and page["next_page"] is None

        first = await call(c, "get_execution_logs", exec_id=exec_id, limit=1)
        assert len(first["lines"]) == 1 and "fetching ai" in first["lines"][0]["message"]
        rest = await call(c, "get_execution_logs", exec_id=exec_id, cursor=first["next_cursor"])
        messages = [line["message"] for line in rest["lines"]]
        assert any("writing report" in m for m in messages) and not any("fetching" in m for m in messages)
        assert rest["finished"] is True
        tail = await call(c, "get_execution_logs", exec_id=exec_id, cursor=rest["next_cursor"])
        assert tail["lines"] == [] and tail["next_cursor"] == rest["next_cursor"]

        arts = await call(c, "kitaru_artifacts_list", exec_id=exec_id)
        names = {a["name"] for a in arts["items"]}
        assert "summary" in names
        summary = await call(c, "kitaru_artifacts_get", exec_id=exec_id, name="summary")
        assert json.loads(summary["preview"]) == {"topic": "ai", "chars": len("notes about ai")}
        write_id = done["checkpoints"][1]["invocation_id"]
        big = await call(c, "kitaru_artifacts_get", exec_id=exec_id, name=write_id, max_chars=100)
        assert big["truncated"] is True and len(big["preview"]) == 100 and big["full_length"] > 5000
        uri = big["artifact"]["uri"]
        assert uri.startswith(f"kitaru://executions/{exec_id}/artifacts/")
        full = await c.read_resource(uri)
        assert json.loads(full.contents[0].text) == "notes about ai " * 500
        res = await c.read_resource(f"kitaru://executions/{exec_id}/checkpoints")
        assert [cp["name"] for cp in json.loads(res.contents[0].text)] == ["fetch", "write"]
        latest = await call(c, "kitaru_executions_latest", flow="research")
        assert latest["exec_id"] == exec_id


async def test_answer_a_waiting_execution_after_a_refused_answer(project: Path) -> None:
    async with mcp_client(project) as c:
        started = await call(c, "kitaru_executions_run", target="flows:approval", args='{"item": "v1"}')
        assert started["status"] == "waiting"
        waiting = await call(c, "kitaru_executions_list", status="waiting")
        assert [e["exec_id"] for e in waiting["items"]] == [started["exec_id"]]
        wait = started["pending_waits"][0]
        assert wait["question"] == "Ship v1?" and wait["answer_schema"]["type"] == "boolean"
        message = await call_error(c, "kitaru_executions_input", exec_id=started["exec_id"], value="yes please")
        assert "boolean" in message and "still pending" in message
        still = await call(c, "kitaru_executions_get", exec_id=started["exec_id"])
        assert still["status"] == "waiting" and len(still["pending_waits"]) == 1  # nothing was recorded
        await call(c, "kitaru_executions_input", exec_id=started["exec_id"], value=True)
        done = await watch(c, started["exec_id"])
        assert done["status"] == "completed" and done["pending_waits"] == []
        out = await call(c, "kitaru_artifacts_get", exec_id=started["exec_id"],
                         name=done["checkpoints"][-1]["invocation_id"])
        assert out["preview"] == "v1: shipped"


async def test_replay_from_a_checkpoint_with_an_override(project: Path) -> None:
    async with mcp_client(project) as c:
        source = await call(c, "kitaru_executions_run", target="flows.py:research", args={"topic": "ai"})
        replay = await call(c, "kitaru_executions_replay", exec_id=source["exec_id"], from_checkpoint="write",
                            overrides={"checkpoint.fetch": "OVERRIDDEN"})
        assert replay["exec_id"] != source["exec_id"] and replay["original_exec_id"] == source["exec_id"]
        done = await watch(c, replay["exec_id"])
        assert done["status"] == "completed"
        out = await call(c, "kitaru_artifacts_get", exec_id=done["exec_id"],
                         name=done["checkpoints"][-1]["invocation_id"], max_chars=30)
        assert out["preview"].startswith("OVERRIDDEN OVERRIDDEN")


async def test_cancel_a_waiting_execution(project: Path) -> None:
    async with mcp_client(project) as c:
        started = await call(c, "kitaru_executions_run", target="flows.py:approval", args={"item": "v2"})
        cancelled = await call(c, "kitaru_executions_cancel", exec_id=started["exec_id"])
        assert cancelled["status"] == "cancelled"
        message = await call_error(c, "kitaru_executions_input", exec_id=started["exec_id"], value=True)
        assert "no pending wait" in message


async def test_bad_input_is_a_tool_error_and_the_server_keeps_serving(project: Path) -> None:
    async with mcp_client(project) as c:
        assert "does not exist" in await call_error(c, "kitaru_executions_get", exec_id="no-such-execution")
        assert "kitaru executions list" in await call_error(c, "kitaru_executions_cancel", exec_id="zzzzzzzz")
        assert "not FILE.py:FLOW" in await call_error(c, "kitaru_executions_run", target="no-colon-here")
        assert "does not exist" in await call_error(c, "kitaru_executions_run", target="missing.py:flow")
        assert "not valid JSON" in await call_error(c, "kitaru_executions_run", target="flows.py:research",
                                                    args="{topic: ai")
        assert "args" in await call_error(c, "kitaru_executions_run", target="flows.py:research", args="[1, 2]")
        assert "must be a JSON object" in await call_error(c, "kitaru_executions_run", target="flows.py:research",
                                                           args='"just a string"')
        message = await call_error(c, "kitaru_executions_run", target="broken.py:anything")
        assert "failed to import" in message and "boom at import" in message
        assert "cannot import module" in await call_error(c, "kitaru_executions_run", target="nosuchmod:flow")
        assert "not a @flow" in await call_error(c, "kitaru_executions_run", target="flows.py:fetch")
        assert "limit" in await call_error(c, "kitaru_executions_list", limit=1000)
        assert "does not exist" in await call_error(c, "kitaru_artifacts_get", exec_id="nope", name="x")
        assert "needs `name`" in await call_error(c, "manage_stack", action="show")
        assert "not registered" in await call_error(c, "manage_stack", action="show", name="ghost")
        assert "no local server" in await call_error(c, "kitaru_stop_local_server")
        status = await call(c, "kitaru_status")  # still serving
        assert status["connection"]["mode"] == "embedded" and status["latest_execution"] is None


async def test_stacks_list_and_manage(project: Path) -> None:
    async with mcp_client(project) as c:
        assert [s["name"] for s in (await call(c, "kitaru_stacks_list"))["items"]] == ["default"]
        made = await call(c, "manage_stack", action="create", name="dev", activate=True)
        assert made["stack"]["active"] is True
        await call(c, "manage_stack", action="use", name="default")
        assert (await call(c, "manage_stack", action="delete", name="dev"))["deleted"] == "dev"
        assert [s["name"] for s in (await call(c, "manage_stack", action="list"))["items"]] == ["default"]


async def test_start_and_stop_a_local_server(project: Path) -> None:
    import httpx

    async with mcp_client(project) as c:
        started = await call(c, "kitaru_start_local_server")
        assert started["url"].startswith("http://127.0.0.1:") and started["running"]
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{started['url']}/ready")).status_code == 200
        assert "already runs" in await call_error(c, "kitaru_start_local_server")
        stopped = await call(c, "kitaru_stop_local_server")
        assert stopped["running"] is False
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.TransportError):
                await http.get(f"{started['url']}/ready", timeout=2)


async def test_kitaru_mcp_command_serves_streamable_http(project: Path) -> None:
    import os
    import subprocess
    import sys

    import anyio
    import httpx
    from mcp import Client

    from kitaru.testing import free_port

    port = free_port()
    kitaru = str(Path(sys.executable).with_name("kitaru"))
    proc = subprocess.Popen([kitaru, "mcp", "--transport", "streamable-http", "--port", str(port)], cwd=project,  # noqa: ASYNC220
                            env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with anyio.fail_after(60):
            while True:
                try:
                    async with httpx.AsyncClient() as http:
                        await http.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
                    break
                except httpx.TransportError:
                    await anyio.sleep(0.2)
        async with Client(f"http://127.0.0.1:{port}/mcp") as c:
            assert "kitaru_executions_list" in {t.name for t in (await c.list_tools()).tools}
            assert (await call(c, "kitaru_executions_list"))["items"] == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_kitaru_and_kitaru_mcp_import_no_sdk_until_served() -> None:
    import subprocess
    import sys

    code = ("import sys, kitaru, kitaru.mcp, kitaru.cli._app; "
            "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
    helped = subprocess.run([str(Path(sys.executable).with_name("kitaru")), "--help"], capture_output=True,
                            text=True, timeout=60, check=True)
    assert "mcp" in helped.stdout
