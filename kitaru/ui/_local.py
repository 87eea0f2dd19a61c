"""`kitaru ui`: the UI over the embedded store, on 127.0.0.1 only, opened with a per-start token."""

from __future__ import annotations

import getpass
import secrets
import socket
import sys
import threading
from pathlib import Path
from typing import Any

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


class LoopbackHostOnly:
    """Refuse requests whose Host is not this machine's loopback name (blocks DNS-rebinding pages)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").rsplit(":", 1)[0]
            if host not in LOOPBACK_HOSTS:
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"text/plain")]})
                await send({"type": "http.response.body", "body": b"kitaru ui answers only on 127.0.0.1"})
                return
        await self.app(scope, receive, send)


def local_app(home: Path, token: str) -> Any:
    """The server app over the embedded store of `home`, with the UI's local mode (actions run here)."""
    from kitaru.server._app import create_app
    from kitaru.store._sqlite import SQLiteDatabase

    home.mkdir(parents=True, exist_ok=True)
    SQLiteDatabase(home / "kitaru.db").close()  # the embedded store, created (with its schema) as flows create it
    app = create_app(f"sqlite:///{home / 'kitaru.db'}", home=home, api=False)  # the UI only: no REST API here
    app.state.kitaru_ui_local = True  # retry/resume/replay start runners on this machine: the owner's own
    app.state.kitaru_ui_token = token
    app.state.kitaru_ui_user = getpass.getuser()
    app.add_middleware(LoopbackHostOnly)
    return app


def serve_local(home: Path, *, port: int = 0, open_browser: bool = True) -> None:
    """Serve the UI on 127.0.0.1:`port` (0: any free port) until interrupted; print (and open) its start URL."""
    import uvicorn

    token = secrets.token_urlsafe(32)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/ui/start?token={token}"
    app = local_app(home, token)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    print(f"Kitaru UI on {url}\n(store {home}; only this machine can connect; Ctrl-C to stop)", file=sys.stderr,
          flush=True)
    if open_browser:
        import webbrowser

        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
