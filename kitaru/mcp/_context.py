"""Resources (executions, their checkpoints, artifacts) and the copy-paste prompts."""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer

from kitaru.mcp import _schemas as s
from kitaru.mcp._common import client, to_json_text


def register(mcp: MCPServer) -> None:
    """Add resources and prompts to `mcp`."""

    @mcp.resource("kitaru://executions", mime_type="application/json",
                  description="The 50 newest executions (summaries).")
    def executions() -> str:
        return json.dumps([s.summary(e).model_dump() for e in client().executions.list(limit=50)])

    @mcp.resource("kitaru://executions/{exec_id}", mime_type="application/json",
                  description="One execution with its checkpoint timeline and pending waits.")
    def execution(exec_id: str) -> str:
        return s.detail(client().executions.get(exec_id)).model_dump_json()

    @mcp.resource("kitaru://executions/{exec_id}/checkpoints", mime_type="application/json",
                  description="The checkpoint calls of one execution, in order.")
    def checkpoints(exec_id: str) -> str:
        return json.dumps([c.model_dump() for c in s.detail(client().executions.get(exec_id)).checkpoints])

    @mcp.resource("kitaru://executions/{exec_id}/artifacts/{name}", mime_type="application/json",
                  description="The full value of one artifact or checkpoint output, as JSON.")
    def artifact(exec_id: str, name: str) -> str:
        from urllib.parse import unquote

        c = client()
        return to_json_text(c.artifacts.get(c.executions.get(exec_id).exec_id, unquote(name)).load())

    @mcp.prompt(description="Summarise the state of Kitaru: what runs, what failed, what waits for input.")
    def status_check() -> str:
        return ("Call kitaru_status, then kitaru_executions_list with status=failed and with status=waiting. "
                "Summarise: the connection and active stack, executions running now, each failure (with its "
                "failure message and the checkpoint it failed in), and each pending wait with its question. "
                "Suggest next steps (retry, answer, replay) but do not take any action.")

    @mcp.prompt(description="Start a flow and watch it until it ends or waits.")
    def start_and_watch(target: str, args: str = "{}") -> str:
        return (f"Start the flow with kitaru_executions_run target={target!r} args={args}. Then, until its status "
                "is completed, failed, cancelled or waiting, call get_execution_logs with the returned exec_id and "
                "cursor=next_cursor and report new lines briefly. At the end, report the status, the duration and "
                "the output (kitaru_artifacts_get on the last checkpoint), or the failure and how to fix it.")

    @mcp.prompt(description="Resolve a waiting execution safely: read the question and schema, confirm, answer.")
    def resolve_waiting_execution(exec_id: str = "") -> str:
        which = f"execution {exec_id}" if exec_id else "the newest execution with status=waiting (kitaru_executions_latest)"
        return (f"Inspect {which} with kitaru_executions_get. For each pending wait, show its question and its "
                "answer_schema. Propose an answer that matches the schema exactly and ASK ME TO CONFIRM before "
                "calling kitaru_executions_input. After answering, call kitaru_executions_get again and report "
                "whether it resumed. If the tool returns a validation error, show it and propose a corrected value.")

    @mcp.prompt(description="Plan a replay: pick the checkpoint to re-run from and the overrides, then confirm.")
    def plan_replay(exec_id: str, goal: str = "") -> str:
        return (f"Inspect execution {exec_id} with kitaru_executions_get and its artifacts with kitaru_artifacts_list. "
                f"Goal: {goal or 'fix what went wrong'}. List the checkpoints with their invocation ids and outputs, "
                "pick the earliest checkpoint that must re-run, and the outputs to override (a JSON object keyed by "
                "'checkpoint.<invocation id>'). Show the plan (from_checkpoint, overrides, changed args) and ASK ME TO "
                "CONFIRM before calling kitaru_executions_replay; then watch the new execution.")
