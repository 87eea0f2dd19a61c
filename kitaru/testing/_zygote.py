"""`python -m kitaru.testing._zygote SOCKET`: import the server, the CLI and the runtime once, then fork them.

Tests only (see `kitaru.testing._forked`). Each connection to the Unix socket SOCKET carries one JSON request
(`kind` "server", "command" or "module", `argv`, `env`, `cwd`, `path0`: sys.path[0] (default `cwd`), `log` for
a server, `watch`: the pid of a stand-in whose death kills the child) with up to three file descriptors (stdin,
stdout, stderr). The zygote forks a child that starts a new session, takes those descriptors (a server writes
to `log`), replaces its environment with `env`, builds sys.path from its PYTHONPATH and runs `python -m
kitaru.server ARGV`, `kitaru ARGV` or `python -m ARGV` (a runner: `python -m kitaru.runtime EXEC_ID`). The
zygote answers `pid N` at once and `exit CODE` when the child ends.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import os
import select
import selectors
import signal
import socket
import sys
import threading
from typing import Any

PRELOAD = ("uvicorn.lifespan.on", "uvicorn.loops.auto", "uvicorn.protocols.http.auto",
           "uvicorn.protocols.websockets.auto", "kitaru.server.__main__", "kitaru.server._asgi",
           "kitaru.server._identity", "kitaru.server._serve", "kitaru.store._sqlite", "kitaru.store._sqlalchemy",
           "kitaru.store.migrations", "alembic.command", "alembic.runtime.migration", "kitaru.server._pg",
           "kitaru.store._pg", "psycopg", "kitaru.cli", "kitaru.cli._app", "kitaru.client", "httpx",
           # what the server's event loop and requests import on first use (uvloop, anyio's backend, idna)
           "uvloop", "uvicorn.loops.uvloop", "uvicorn.protocols.http.httptools_impl", "anyio._backends._asyncio",
           "anyio.streams.tls", "anyio.streams.stapled", "anyio.streams.memory", "encodings.idna",
           "concurrent.futures.thread", "kitaru.server._ratelimit", "kitaru.server._keys", "kitaru.server._reconciler",
           "kitaru.server._continue", "kitaru.runtime._reconcile", "kitaru.runtime._dispatch", "kitaru.store.schema",
           "kitaru.stacks._service", "kitaru.stacks._resolve", "kitaru.stacks._secrets", "kitaru.stacks._validate",
           "kitaru.plugins._local_jobs", "kitaru.plugins._manager", "kitaru.cli._extensions", "alembic.config",
           "kitaru.mcp", "kitaru.mcp._front", "kitaru.mcp._light", "kitaru.mcp._app",  # `kitaru mcp`: the SDK too
           # a runner (`python -m kitaru.runtime`): its modules, and pydantic for the answers of waits
           "kitaru.runtime.__main__", "kitaru.runtime._launch", "kitaru.runtime._runner", "kitaru.runtime._isolated",
           "kitaru.store._sqlite", "kitaru.artifacts._hashing", "kitaru.config._models", "pydantic")
"""Modules a server or a CLI command imports before it works (a missing one, e.g. an extra, is skipped)."""

PRELOAD_PLUGINS = ("kitaru_k8s._orchestrator", "kitaru_k8s._status", "kitaru_s3._store", "kitaru_gcs",
                   "kitaru_azure", "kitaru_vertex", "kitaru_sagemaker", "kubernetes.client", "kubernetes.config",
                   "kubernetes.dynamic", "boto3", "botocore.client", "s3transfer.manager",
                   "google.auth.transport.requests", "google.oauth2.service_account")
"""The installed plugins and the SDKs they import lazily when a server mints credentials or a command asks a
backend (kubernetes alone is ~0.8 s of imports in every child that needed it)."""

MAX_REQUEST = 1 << 20
_BASE_PATH: list[str] = []
"""sys.path of the zygote without its first entry and its PYTHONPATH: what every child starts from."""


def _preload() -> None:
    """Import PRELOAD and build the server's application, warmed, for the next server child to take."""
    for name in (*PRELOAD, *PRELOAD_PLUGINS):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    try:
        import kitaru.server._app as server_app
    except ImportError:  # without the `server` extra (the dependency-floor suite): runners and commands only
        return

    build = server_app.api_app
    ready = {flags: _warmed(build(api=flags[0], database_errors=flags[1])) for flags in ((True, True), (True, False))}

    def api_app(*, api: bool = True, database_errors: bool = True) -> Any:
        """This child's copy of the application built (and warmed) before the fork; a fresh one after that."""
        app = ready.pop((api, database_errors), None)
        return app if app is not None else build(api=api, database_errors=database_errors)

    server_app.api_app = api_app  # only in this zygote and the children it forks


def _warmed(app: Any) -> Any:
    """`app` after one request that matches no route: the router builds every route's (lazy) matching context,
    the work a fresh server otherwise does on its first requests."""
    import asyncio

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/__kitaru_warm_up__", "raw_path": b"/__kitaru_warm_up__", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    with contextlib.suppress(Exception):  # noqa: BLE001 - warming is an optimisation; a cold app still serves
        asyncio.run(app(scope, receive, send))
    return app


def _sys_path(first: str) -> None:
    """sys.path as a new interpreter would build it from the child's PYTHONPATH (`first`: the script's dir)."""
    extra = [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = list(dict.fromkeys([first, *extra, *_BASE_PATH]))
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    importlib.invalidate_caches()


def _stdio(fds: list[int], log: str | None) -> None:
    """Make fds 0, 1, 2 the request's (a server: /dev/null and its log) and rebuild sys.std* over them."""
    if not fds:
        fds = [os.open(os.devnull, os.O_RDONLY)]
        out = os.open(log or os.devnull, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        fds += [out, out]
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds):
        if fd > 2:
            os.close(fd)
    encoding = os.environ.get("PYTHONIOENCODING", "utf-8").split(":")[0] or "utf-8"
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))

    def text(fd: int, mode: str) -> Any:
        raw = io.FileIO(fd, mode, closefd=False)
        if mode == "r":
            return io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, errors="strict")
        return io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding, errors="backslashreplace" if fd == 2 else "strict",
                                line_buffering=raw.isatty() or fd == 2, write_through=unbuffered)

    sys.stdin, sys.stdout, sys.stderr = text(0, "r"), text(1, "w"), text(2, "w")


def _die_with(pid: int) -> None:
    """Kill this child's whole session as soon as process `pid` (the stand-in it replaces) ends, as a real
    process would die with it: a test that SIGKILLs the stand-in (or its process group) kills this too."""
    try:
        watched = os.pidfd_open(pid)
    except OSError:  # already gone
        os.killpg(0, signal.SIGKILL)
        return

    def watch() -> None:
        select.select([watched], [], [])
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="kitaru-zygote-watch", daemon=True).start()


def _child(request: dict[str, Any], fds: list[int]) -> int:
    """Become the requested process; its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    if request.get("watch"):
        _die_with(int(request["watch"]))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    _stdio(fds, request.get("log"))
    _sys_path(os.path.abspath(request.get("path0") or os.getcwd()))  # `python -m`: the cwd; a script: its dir
    argv = [str(a) for a in request["argv"]]
    try:
        if request["kind"] == "server":
            from kitaru.server.__main__ import main as serve

            sys.argv = ["kitaru.server", *argv]
            serve(argv)
        elif request["kind"] == "module":  # `python -m MODULE ARGS`
            import runpy

            sys.argv = [*argv]
            runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
        else:
            from kitaru.cli import main

            sys.argv = ["kitaru", *argv]
            return main(argv)  # the console script exits with what main returns
        return 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BaseException:  # noqa: BLE001 - whatever the command raised, the child reports it and exits
        import traceback

        traceback.print_exc()
        return 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            sys.stderr.flush()


def _status(code: int) -> int:
    """A wait status as Popen's returncode (-N for a signal)."""
    return -os.WTERMSIG(code) if os.WIFSIGNALED(code) else os.WEXITSTATUS(code)


def run(path: str) -> None:
    """Serve fork requests on the Unix socket `path` until stdin closes (the test process ended)."""
    own = {os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    _BASE_PATH[:] = [p for p in sys.path[1:] if p not in own]
    _preload()
    gc.collect()
    gc.freeze()  # children never scan (and so never copy) the preloaded heap: each starts without touching it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".binding")
    listener.listen(64)
    os.rename(path + ".binding", path)  # the socket exists only once it accepts (a shared zygote's users poll it)
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(wake_r, selectors.EVENT_READ, "child")
    sel.register(sys.stdin, selectors.EVENT_READ, "parent")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    waiting: dict[int, socket.socket] = {}
    while True:
        for key, _ in sel.select():
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    return
            elif key.data == "child":
                with contextlib.suppress(BlockingIOError):
                    wake_r.recv(4096)
                _reap(waiting)
            else:
                conn, _ = listener.accept()
                _fork(conn, listener, waiting)


def _fork(conn: socket.socket, listener: socket.socket, waiting: dict[int, socket.socket]) -> None:
    """Read one request from `conn`, fork its child, answer the pid."""
    try:
        data, fds, _, _ = socket.recv_fds(conn, MAX_REQUEST, 3)
        request = json.loads(data)
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            conn.sendall(f"error {exc}\n".encode())
        conn.close()
        return
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            listener.close()
            conn.close()
            for other in waiting.values():
                other.close()
            signal.set_wakeup_fd(-1)
            code = _child(request, fds)
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    try:
        conn.sendall(f"pid {pid}\n".encode())
        waiting[pid] = conn
    except OSError:
        conn.close()


def _reap(waiting: dict[int, socket.socket]) -> None:
    """Collect every ended child and tell its requester the exit code."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = waiting.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(f"exit {_status(status)}\n".encode())
            conn.close()


if __name__ == "__main__":
    run(sys.argv[1])
