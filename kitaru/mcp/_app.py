"""Build the Kitaru MCP server: every tool, resource and prompt, over `KitaruClient`."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

INSTRUCTIONS = (
    "Kitaru runs durable AI-agent flows. Use kitaru_status first; list with kitaru_executions_list; inspect with "
    "kitaru_executions_get (its checkpoints carry the invocation ids replay needs); tail logs with "
    "get_execution_logs and its cursor. Tools marked destructive change executions: confirm with the user first."
)


def build_server() -> MCPServer:
    """A fresh MCPServer with the Kitaru tools, resources and prompts."""
    from kitaru import __version__
    from kitaru.mcp import _admin, _context, _executions, _memory

    mcp = MCPServer("kitaru", title="Kitaru", version=__version__, instructions=INSTRUCTIONS,
                    log_level="WARNING")
    _executions.register(mcp)
    _memory.register(mcp)
    _admin.register(mcp)
    _context.register(mcp)
    return mcp
