"""Start the server: migrate, make sure an admin key exists, run uvicorn (the body of `kitaru server up`)."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """A database URL with its password masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def extend_leases(db: Any, grace: float) -> None:
    """Give running executions `grace` seconds to renew their leases after a server outage.

    While the server was down no runner could heartbeat; without this, the first client sweep
    after a restart would fail executions whose runners are alive and about to reconnect.
    """
    from kitaru.store import StateService

    state = StateService(db)
    state.extend_running_leases(grace)
    state.forget_request_keys(older_than=86400)  # idempotency keys only matter while a client may still retry


def serve(*, host: str = "127.0.0.1", port: int = 8080, database_url: str | None = None, workers: int = 1) -> None:
    """Migrate, bootstrap the first admin API key if none exists (printed once), and serve until stopped."""
    import uvicorn

    import kitaru.store
    from kitaru.server._asgi import database_url_from_env
    from kitaru.server._keys import ENV, prepare
    from kitaru.store._databases import open_database
    from kitaru.store._identity import IdentityService

    if port == 0 and workers > 1:
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError("--port 0 (a port the system picks) serves with one worker: give a port for --workers")
    kitaru.store._embedded_only = True
    if database_url:
        os.environ["KITARU_DATABASE_URL"] = database_url
    url = database_url_from_env()
    db = open_database(url)
    box, created = prepare(db)
    if created:
        print(f"Generated the server's encryption key (secret values and signing keys are encrypted with it) in"
              f" {box.source} (mode 0600). Back it up: without it the stored secrets cannot be read. Every server"
              f" of this database needs the same key ({ENV} or {ENV}_FILE).", file=sys.stderr)
    preset = os.environ.get("KITARU_BOOTSTRAP_API_KEY") or None
    key = IdentityService(db, box).ensure_bootstrap_admin(preset)
    from kitaru.config._tunables import tunables

    extend_leases(db, tunables().server_lease_grace)
    db.close()
    listener = listen_on_free_port(host) if port == 0 else None  # a free port, bound before it is announced below
    if listener is not None:
        port = listener.getsockname()[1]
    if key is not None and preset is None:
        print(f"Created the first admin API key (shown once, store it safely):\n  {key}\n"
              f"Log in with: kitaru login http://{host}:{port} --api-key {key}", file=sys.stderr)
    if host not in ("0.0.0.0", "::"):  # runners the server dispatches report back here unless told otherwise
        os.environ.setdefault("KITARU_SERVER_PUBLIC_URL", f"http://{host}:{port}")
    print(f"Kitaru server on http://{host}:{port} (database {redact_url(url)})", file=sys.stderr, flush=True)
    options: dict[str, Any] = {"factory": True, "host": host, "port": port, "access_log": False,
                               "log_level": os.environ.get("KITARU_SERVER_LOG_LEVEL", "warning"),
                               "timeout_keep_alive": 75}
    if listener is None:
        uvicorn.run("kitaru.server._asgi:app_from_env", workers=workers, **options)
    else:
        uvicorn.Server(uvicorn.Config("kitaru.server._asgi:app_from_env", **options)).run(sockets=[listener])


def listen_on_free_port(host: str) -> socket.socket:
    """A socket listening on a port the system picks (`--port 0`): bound here, so the port this process announces
    is already its own when anyone reads it (picking a free port first and binding it later races other servers)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(2048)
    return listener
