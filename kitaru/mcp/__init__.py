"""`kitaru.mcp`: the MCP server (`kitaru-mcp`, `kitaru mcp`) for AI assistants, a thin layer over KitaruClient.

It acts with the current connection (the embedded store, or the server of KITARU_SERVER_URL / `kitaru login`
with that principal's rights). Needs the `mcp` extra: `pip install 'kitaru[mcp]'`.
"""

from __future__ import annotations

import sys
from typing import Any, Literal

__all__ = ["build_server", "main", "serve"]

Transport = Literal["stdio", "streamable-http"]


def build_server() -> Any:
    """The configured `MCPServer` (imports the MCP SDK)."""
    try:
        from kitaru.mcp._app import build_server as build
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "mcp":
            from kitaru.errors import KitaruFeatureNotAvailableError

            raise KitaruFeatureNotAvailableError("kitaru.mcp", provided_by="the `mcp` extra"
                                                 " (`pip install 'kitaru[mcp]'`)") from None
        raise
    return build()


def serve(transport: Transport = "stdio", *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the MCP server on stdio (default) or streamable HTTP at http://HOST:PORT/mcp until stopped."""
    import threading

    if transport not in ("stdio", "streamable-http"):
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError(f"transport {transport!r} is not stdio or streamable-http")

    try:
        if transport == "stdio":
            from kitaru.mcp._front import serve_stdio

            serve_stdio(build_server, warm=_warm_up)  # the front answers light reads while the SDK imports
        else:
            server = build_server()
            threading.Thread(target=_warm_up, name="kitaru-mcp-warm-up", daemon=True).start()
            server.run("streamable-http", host=host, port=port)
    finally:
        if "kitaru.mcp._admin" in sys.modules:
            sys.modules["kitaru.mcp._admin"].stop_started_server()


def _warm_up() -> None:
    """Import the client and open the state store, so the first tool call is fast."""
    try:
        from kitaru.mcp._light import list_page

        list_page(limit=1)
    except Exception as exc:  # noqa: BLE001 - a broken connection is reported by the first real tool call
        import logging

        logging.getLogger("kitaru.mcp").debug("warm-up failed: %s: %s", type(exc).__name__, exc)


def main(argv: list[str] | None = None) -> None:
    """The `kitaru-mcp` console script: `kitaru-mcp [--transport stdio|streamable-http] [--host H] [--port P]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="kitaru-mcp", description="Kitaru MCP server for AI assistants.")
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="streamable-http: interface to bind")
    parser.add_argument("--port", type=int, default=8765, help="streamable-http: TCP port")
    ns = parser.parse_args(argv)
    from kitaru.errors import KitaruError

    try:
        serve(ns.transport, host=ns.host, port=ns.port)
    except KitaruError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        pass
