"""`kitaru ui`: browse executions in a local web UI over the embedded store."""

from __future__ import annotations

from typing import Annotated

import typer


def ui_command(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free port).")] = 0,
    no_browser: Annotated[bool, typer.Option("--no-browser",
                                             help="Print the URL instead of opening a browser.")] = False,
) -> None:
    """Serve the web UI for this project's executions on 127.0.0.1 (opens your browser with a one-start token)."""
    from kitaru.config._paths import resolve_home
    from kitaru.errors import KitaruUsageError

    try:
        from kitaru.ui._local import serve_local
    except ImportError as exc:
        raise KitaruUsageError(f"the web UI needs the server extra: pip install 'kitaru[server]' ({exc})") from None
    serve_local(resolve_home(), port=port, open_browser=not no_browser)
