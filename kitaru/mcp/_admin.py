"""Status, stacks and the local server tools."""

from __future__ import annotations

import threading
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from kitaru.mcp import _schemas as s
from kitaru.mcp._common import DESTRUCTIVE, READ_ONLY, WRITES, client, tool_errors


class Status(BaseModel):
    """Where Kitaru state lives, the connection, the active stack and what waits for input."""

    connection: dict[str, Any]
    home: str
    stack: str
    pending_waits: list[s.Wait]
    latest_execution: s.ExecutionSummary | None


class Stack(BaseModel):
    """A registered stack."""

    id: str
    name: str
    active: bool
    builtin: bool
    ready: bool
    problems: list[str]
    spec: dict[str, Any]


class StackList(BaseModel):
    """Every registered stack (`default` first)."""

    items: list[Stack]


class StackResult(BaseModel):
    """What `manage_stack` did; `stack` is set for show/create/use, `items` for list."""

    action: str
    stack: Stack | None = None
    items: list[Stack] | None = None
    deleted: str | None = None


class LocalServer(BaseModel):
    """A `kitaru server up` process this MCP server started on loopback."""

    url: str
    pid: int
    database_url: str
    admin_api_key: str | None = Field(default=None, description="bootstrap admin key (only when just started)")
    log: str
    running: bool


def _stack(info: Any) -> Stack:
    d = info.as_dict()
    return Stack(**{k: d[k] for k in Stack.model_fields})


_server_lock = threading.Lock()
_server: Any = None  # the kitaru.testing.LocalServer this process started


def stop_started_server() -> None:
    """Stop the local server this process started (at exit)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
            _server = None


def register(mcp: MCPServer) -> None:
    """Add status, stack and local-server tools to `mcp`."""

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_status() -> Status:
        """The connection (embedded store or server URL), Kitaru home, active stack, pending waits, latest execution."""
        from kitaru.cli._project import _active_stack, _connection, _home_info

        c = client()
        waits = c.executions.pending_waits()[:20]
        latest = c.executions.list(limit=1)
        return Status(connection=_connection(), home=_home_info()["home"], stack=_active_stack(),
                      pending_waits=[s.wait(w) for w in waits],
                      latest_execution=s.summary(latest[0]) if latest else None)

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_stacks_list() -> StackList:
        """Every registered stack with its components, whether it is active and why it cannot run (if so)."""
        from kitaru.stacks import list_stacks

        return StackList(items=[_stack(i) for i in list_stacks()])

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def manage_stack(
        action: Annotated[Literal["list", "show", "create", "delete", "use"], Field(description="what to do")],
        name: Annotated[str | None, Field(description="stack name (all actions but list)")] = None,
        orchestrator: Annotated[dict[str, Any] | None, Field(
            description='create: orchestrator component, e.g. {"flavor": "local"}')] = None,
        artifact_store: Annotated[dict[str, Any] | None, Field(
            description='create: artifact store component, e.g. {"flavor": "local"}')] = None,
        activate: Annotated[bool, Field(description="create: make it the active stack")] = False,
        force: Annotated[bool, Field(description="delete: also if it is the active stack")] = False,
    ) -> StackResult:
        """List, show, create, delete (destructive) or activate (`use`) a stack."""
        from kitaru import stacks

        if action == "list":
            return StackResult(action=action, items=[_stack(i) for i in stacks.list_stacks()])
        if not name:
            raise ToolError(f"manage_stack {action} needs `name`; list stacks with action=list")
        if action == "show":
            return StackResult(action=action, stack=_stack(stacks.get_stack(name)))
        if action == "create":
            info = stacks.create_stack(name, orchestrator=orchestrator, artifact_store=artifact_store,
                                       activate=activate)
            return StackResult(action=action, stack=_stack(info))
        if action == "use":
            return StackResult(action=action, stack=_stack(stacks.use_stack(name)))
        stacks.delete_stack(name, force=force)
        return StackResult(action=action, deleted=name)

    @mcp.tool(annotations=WRITES)
    @tool_errors
    def kitaru_start_local_server(
        port: Annotated[int | None, Field(ge=1024, le=65535, description="TCP port (default: a free one)")] = None,
        database_url: Annotated[str | None, Field(
            description="SQLAlchemy URL (default: SQLite at <kitaru home>/local-server/server.db)")] = None,
    ) -> LocalServer:
        """Start `kitaru server up` on 127.0.0.1 as a child of this MCP server (one at a time); returns its URL."""
        global _server
        from kitaru.config._paths import resolve_home
        from kitaru.testing import LocalServer as Proc

        with _server_lock:
            if _server is not None and _server.proc is not None and _server.proc.poll() is None:
                raise ToolError(f"a local server already runs at {_server.url}; stop it with kitaru_stop_local_server")
            home = resolve_home() / "local-server"
            home.mkdir(parents=True, exist_ok=True)
            proc = Proc(database_url or f"sqlite:///{home / 'server.db'}", home, port=port or 0)
            try:
                proc.start(timeout=60)
            except (RuntimeError, TimeoutError) as exc:
                raise ToolError(f"the server did not start: {exc}") from None
            _server = proc
            return LocalServer(url=proc.url, pid=proc.pid, database_url=proc.database_url,
                               admin_api_key=proc.admin_key, log=str(proc.log), running=True)

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_stop_local_server() -> LocalServer:
        """Stop the server that kitaru_start_local_server started (SIGTERM, then SIGKILL after 5 s)."""
        global _server
        with _server_lock:
            if _server is None:
                raise ToolError("no local server was started by this MCP server; start one with"
                                " kitaru_start_local_server")
            proc, _server = _server, None
            proc.stop()
            return LocalServer(url=proc.url, pid=proc.pid, database_url=proc.database_url, log=str(proc.log),
                               running=False)
