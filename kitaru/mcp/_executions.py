"""Execution tools: list, inspect, logs, run, input, retry, replay, cancel; artifacts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from kitaru.mcp import _schemas as s
from kitaru.mcp._common import DESTRUCTIVE, MAX_PAGE, READ_ONLY, client, parse_args, preview, tool_errors
from kitaru.mcp._light import list_page

if TYPE_CHECKING:
    from kitaru.sdk import Flow

ExecId = Annotated[str, Field(description="execution id (or a unique prefix of at least 6 characters)")]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"items per page (1-{MAX_PAGE})")]
Page = Annotated[int, Field(ge=1, description="page number, starting at 1")]
Status = Annotated[str | None, Field(description="running, waiting, completed, failed or cancelled")]


def load_flow_target(target: str) -> Flow[Any]:
    """The flow a `module_or_file:flow_name` target names (as `kitaru run` loads it); import failures as tool errors."""
    from kitaru.cli._run import load_target
    from kitaru.errors import KitaruError

    try:
        return load_target(target)
    except KitaruError:
        raise
    except Exception as exc:  # the user's module raised while importing: report it, keep serving
        raise ToolError(f"flow target {target!r} failed to import: {type(exc).__name__}: {exc}; fix the module"
                        " (import it with `python -c 'import MODULE'` to see the traceback) and call again") from exc


def register(mcp: MCPServer) -> None:
    """Add the execution and artifact tools to `mcp`."""

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_executions_list(flow: Annotated[str | None, Field(description="only this flow's executions")] = None,
                               status: Status = None, limit: Limit = 20, page: Page = 1) -> s.ExecutionPage:
        """List executions newest first (one bounded page), optionally of one flow and/or one status."""
        return s.ExecutionPage.model_validate(list_page(flow=flow, status=status, limit=limit, page=page))

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_executions_get(exec_id: ExecId) -> s.ExecutionDetail:
        """One execution: status, failure, checkpoint timeline (invocation ids for replay) and pending waits."""
        return s.detail(client().executions.get(exec_id))

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_executions_latest(flow: Annotated[str | None, Field(description="only this flow")] = None,
                                 status: Status = None) -> s.ExecutionDetail:
        """The newest execution (of a flow, with a status), with its timeline and pending waits."""
        return s.detail(client().executions.latest(flow=flow, status=status))

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def get_execution_logs(
        exec_id: ExecId,
        checkpoint: Annotated[str | None, Field(description="only this checkpoint's lines (its invocation id)")] = None,
        cursor: Annotated[int, Field(ge=0, description="return lines after this cursor (0: from the start)")] = 0,
        limit: Annotated[int, Field(ge=1, le=1000, description="most lines to return (1-1000)")] = 200,
    ) -> s.LogPage:
        """Captured log lines after `cursor`, oldest first; tail a running execution by passing back `next_cursor`."""
        c = client()
        status = c.executions.get(exec_id).status.value
        lines = c.executions.logs(exec_id, checkpoint=checkpoint, after=cursor, limit=limit)
        next_cursor = lines[-1].id if lines else cursor
        finished = status not in ("running", "waiting") and len(lines) < limit
        return s.LogPage(exec_id=lines[0].exec_id if lines else c.executions.get(exec_id).exec_id,
                         lines=[s.log_line(x) for x in lines], next_cursor=next_cursor,
                         execution_status=status, finished=finished)

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_executions_run(
        target: Annotated[str, Field(description="`module_or_file:flow_name`, e.g. `agents/research.py:research`"
                                                 " or `agents.research:research` (relative to the server's cwd)")],
        args: Annotated[dict[str, Any] | str | None, Field(description="the flow's inputs as a JSON object")] = None,
        stack: Annotated[str | None, Field(description="run on this stack (default: the active one)")] = None,
    ) -> s.ExecutionDetail:
        """Start a flow (like `kitaru run`); on a local stack it returns when it completes, fails or waits."""
        inputs = parse_args(args)
        flow = load_flow_target(target)
        handle = flow.run(stack=stack, **inputs)
        return s.detail(client().executions.get(handle.exec_id))

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_executions_cancel(exec_id: ExecId) -> s.ExecutionDetail:
        """Cancel an execution: now if waiting or failed, at its next checkpoint boundary if running."""
        return s.detail(client().executions.cancel(exec_id))

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_executions_input(
        exec_id: ExecId,
        value: Annotated[Any, Field(description="the answer (any JSON); validated against the wait's schema first")],
        wait: Annotated[str | None, Field(description="wait id or name (needed only if several are pending)")] = None,
    ) -> s.ExecutionDetail:
        """Answer a pending wait and resume the execution; a value that breaks the wait's schema is refused."""
        return s.detail(client().executions.input(exec_id, wait=wait, value=value))

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_executions_retry(exec_id: ExecId) -> s.ExecutionDetail:
        """Continue a failed execution from its last completed checkpoint, in a new runner process."""
        return s.detail(client().executions.retry(exec_id))

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_executions_replay(
        exec_id: ExecId,
        from_checkpoint: Annotated[str, Field(description="checkpoint name or invocation id to re-run from")],
        overrides: Annotated[dict[str, Any] | str | None, Field(
            description='outputs to substitute, a JSON object {"checkpoint.<name or invocation id>": value}')] = None,
        args: Annotated[dict[str, Any] | str | None, Field(description="flow inputs to change (JSON object)")] = None,
    ) -> s.ExecutionDetail:
        """Start a new execution reusing `exec_id`'s outputs before `from_checkpoint` (with overrides)."""
        replayed = client().executions.replay(exec_id, from_=from_checkpoint,
                                              overrides=parse_args(overrides, "overrides") or None,
                                              **parse_args(args))
        return s.detail(replayed)

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_artifacts_list(exec_id: ExecId, limit: Limit = 50) -> s.ArtifactList:
        """Artifacts saved by an execution and its checkpoint outputs (metadata only; read one with get)."""
        c = client()
        found = c.executions.get(exec_id)
        items = c.artifacts.list(found.exec_id)
        return s.ArtifactList(items=[s.artifact(a) for a in items[:limit]], truncated=len(items) > limit)

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_artifacts_get(
        exec_id: ExecId, name: Annotated[str, Field(description="artifact name or checkpoint invocation id")],
        max_chars: Annotated[int, Field(ge=16, le=100_000, description="preview length cap")] = 2000,
    ) -> s.ArtifactValue:
        """One artifact with a bounded preview of its value; the full value is at the returned resource `uri`."""
        c = client()
        ref = c.artifacts.get(c.executions.get(exec_id).exec_id, name)
        text, cut, length = preview(ref.load(), max_chars)
        return s.ArtifactValue(artifact=s.artifact(ref), preview=text, truncated=cut, full_length=length)
