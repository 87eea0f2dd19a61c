"""`create_app(database_url)`: the FastAPI application over one state store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from kitaru.store._databases import open_database

API_PREFIX = "/api/v1"


def state_service(db: Any, box: Any = None) -> Any:
    """The state service over `db`; a database may provide its own (psycopg: one-statement hot write).

    `box` encrypts secret values at rest (default: the server's key, see `kitaru.server._keys`).
    """
    from kitaru.store import StateService

    own = getattr(db, "state_service", None)
    state = own() if own is not None else StateService(db)
    if box is None:
        from kitaru.server._keys import server_box

        state.box_loader = lambda: server_box()[0]
    else:
        state.box_loader = lambda: box
    return state


def create_app(database_url: str, *, home: Path | None = None, api: bool = True) -> FastAPI:
    """The Kitaru server: REST API under /api/v1 over the state store at `database_url` (and the web UI).

    `api=False` serves the UI without the REST API (`kitaru ui`: nothing on this machine calls it, and its
    routes cost start-up time)."""
    from kitaru.server._deps import ServerContext
    from kitaru.server._identity import KeyRing
    from kitaru.server._keys import check_key, server_box
    from kitaru.server._ratelimit import FailureLimiter
    from kitaru.store._identity import IdentityService

    db = open_database(database_url)
    box = server_box(home)[0]
    check_key(db, box)
    state = state_service(db, box)
    identity = IdentityService(db, box)
    from kitaru.store._sqlite import SQLiteDatabase

    app = api_app(api=api, database_errors=not isinstance(db, SQLiteDatabase))
    server_home = home or Path(os.environ.get("KITARU_SERVER_HOME") or os.environ.get("KITARU_HOME") or ".")
    keyring = KeyRing(identity.signing_keys, refresh=float(os.environ.get("KITARU_SERVER_KEY_REFRESH", "30")),
                      live=identity.is_live, live_ttl=float(os.environ.get("KITARU_SERVER_REVOCATION_CHECK", "5")))
    app.state.kitaru = ServerContext(state=state, identity=identity, keyring=keyring,
                                     home=server_home.expanduser().resolve(), auth_failures=FailureLimiter.from_env())
    from kitaru.server._reconciler import ReconcilerLoop

    from kitaru.config._tunables import tunables

    reconciler = ReconcilerLoop(app.state.kitaru, tunables().server_reconcile_interval)
    app.state.reconciler = reconciler
    app.router.lifespan_context = reconciler.lifespan(app.router.lifespan_context)  # uvicorn runs it
    return app


def api_app(*, api: bool = True, database_errors: bool = True) -> FastAPI:
    """The application without a store: routes, error handlers and middleware (its OpenAPI document needs no
    database; `create_app` gives it one). `api=False`: the UI only; `database_errors=False`: no SQLAlchemy or
    psycopg error handlers (an embedded SQLite database raises neither; importing them costs start-up)."""
    from kitaru import __version__
    from kitaru.server._errors import install_error_handlers
    from kitaru.server._fastlane import CheckpointFastLane
    from kitaru.server._limits import BodyLimit
    from kitaru.server.routes import (
        artifacts,
        auth,
        config,
        executions,
        health,
        jobs,
        journal,
        logs,
        memory,
        stacks,
        waits,
    )

    app = FastAPI(title="Kitaru server", version=__version__, openapi_url=f"{API_PREFIX}/openapi.json",
                  docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  description="Durable execution for AI agents: executions, journal, waits, logs, stacks, auth.")
    install_error_handlers(app, database_errors=database_errors)
    if os.environ.get("KITARU_SERVER_FAST_LANE", "1") != "0":  # 0: every request through FastAPI (A/B, kill switch)
        app.add_middleware(CheckpointFastLane)
    app.add_middleware(BodyLimit)  # outermost: oversized bodies are refused before anything reads them
    app.include_router(health.router)
    for module in (journal, executions, logs, waits, artifacts, stacks, config, auth, memory, jobs) if api else ():
        app.include_router(module.router, prefix=API_PREFIX)  # hot routes first
    if os.environ.get("KITARU_SERVER_UI", "1") != "0":  # the web UI at / (kitaru/ui); 0 serves the API only
        try:
            from kitaru.ui import mount_ui
        except ImportError:  # jinja2 missing: the API still serves; `pip install 'kitaru[server]'` adds the UI
            pass
        else:
            mount_ui(app)
    return app
