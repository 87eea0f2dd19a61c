"""`kitaru mcp`: run the MCP server for AI assistants (imports the MCP SDK only when run)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class Transport(str, Enum):
    """MCP transports."""

    stdio = "stdio"
    streamable_http = "streamable-http"


def mcp_command(
    transport: Annotated[Transport, typer.Option(help="stdio (for assistants that spawn it) or streamable-http.")]
    = Transport.stdio,
    host: Annotated[str, typer.Option(help="streamable-http: interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="streamable-http: TCP port (path /mcp).")] = 8765,
) -> None:
    """Serve the Kitaru MCP tools (needs `pip install 'kitaru[mcp]'`); same as the `kitaru-mcp` script."""
    from kitaru.mcp import serve

    serve(transport.value, host=host, port=port)
