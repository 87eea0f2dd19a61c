"""Start test servers and `kitaru` commands by forking a warm process instead of a fresh interpreter.

Importing the server (FastAPI, SQLAlchemy, psycopg, uvicorn, routes, UI) or the CLI is most of the time such a
subprocess takes. A zygote (`python -m kitaru.testing._zygote`, one per test process) imports them once; each
server or command is then a child forked from it with its own session, environment, working directory,
stdin/stdout/stderr and exit code, as isolated as a new interpreter (`kitaru.testing._zygote` has the
protocol). `KITARU_TEST_FORK=0` turns it off: every process is then a fresh interpreter.

A program that must start a command itself (the MCP SDK's stdio client) runs `forked_command(argv, env)`:
`python THIS_FILE ARGV…`, a stdlib-only stand-in that hands its own stdin/stdout/stderr to a zygote child,
forwards SIGTERM/SIGINT/SIGHUP to it and exits with its exit code.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

KITARU_SCRIPT = Path(sys.executable).with_name("kitaru")
"""The `kitaru` console script of this interpreter's environment (its directory is a command's sys.path[0])."""

_lock = threading.Lock()
_zygote: tuple[subprocess.Popen[bytes], str] | None = None


def fork_enabled() -> bool:
    """Whether servers and commands fork from the zygote (POSIX; `KITARU_TEST_FORK=0` opts out)."""
    return os.environ.get("KITARU_TEST_FORK", "1") != "0" and hasattr(socket, "send_fds")


def _socket_path() -> str:
    """The zygote's socket, started on first use with none of the calling test's KITARU_* settings."""
    global _zygote
    with _lock:
        if _zygote is None or _zygote[0].poll() is not None:
            path = os.path.join(tempfile.mkdtemp(prefix="kitaru-zygote-"), "sock")
            env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            proc = subprocess.Popen([sys.executable, "-m", "kitaru.testing._zygote", path], env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"the test zygote did not start (exit {proc.wait(timeout=10)})")
            _zygote = (proc, path)
            atexit.register(shutil.rmtree, os.path.dirname(path), True)  # the zygote exits when its stdin closes
        return _zygote[1]


_ZYGOTE_ENV = "KITARU_TEST_ZYGOTE"
"""The zygote socket a stand-in started by `forked_command` connects to."""


def forked_command(argv: list[str], env: dict[str, str]) -> tuple[str, list[str], dict[str, str]]:
    """(command, args, env) that run `kitaru ARGV` forked from this process's zygote, for a program that starts
    the process itself; `kitaru` itself, a fresh interpreter, when forking is off."""
    if not fork_enabled():
        return str(KITARU_SCRIPT), argv, env
    return sys.executable, [os.path.abspath(__file__), *argv], {**env, _ZYGOTE_ENV: _socket_path()}


def _stand_in(argv: list[str]) -> int:
    """The body of `python _forked.py ARGV`: run `kitaru ARGV` as a zygote child on this process's stdio."""
    env = dict(os.environ)
    path = env.pop(_ZYGOTE_ENV)
    conn, pid = _request("command", argv, env, [0, 1, 2], path=path, cwd=os.getcwd(),
                         path0=str(KITARU_SCRIPT.parent))

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    answer = _line(conn, None)
    return int(answer.split()[1]) if answer.startswith("exit ") else 1


def _request(kind: str, argv: list[str], env: dict[str, str], fds: list[int], path: str | None = None,
             **extra: str) -> tuple[socket.socket, int]:
    """Ask the zygote (at `path`, else this process's) for a child; the connection that reports its exit, and
    its pid."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path or _socket_path())
    request = {"kind": kind, "argv": argv, "env": env, "cwd": extra.pop("cwd", os.getcwd()), **extra}
    socket.send_fds(conn, [json.dumps(request).encode()], fds)
    answer = _line(conn, 60)
    if not answer.startswith("pid "):
        conn.close()
        raise RuntimeError(f"the test zygote refused the request: {answer!r}")
    return conn, int(answer.split()[1])


def _line(conn: socket.socket, timeout: float | None) -> str:
    """One line from the zygote ('' if it closed); TimeoutError after `timeout`."""
    data = b""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not data.endswith(b"\n"):
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([conn], [], [], wait)[0]:
            raise TimeoutError
        chunk = conn.recv(256)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


class ForkedProcess:
    """The part of `subprocess.Popen` that `LocalServer` uses, over a zygote child."""

    def __init__(self, kind: str, argv: list[str], env: dict[str, str], fds: list[int] | None = None,
                 **extra: str) -> None:
        self.args = argv
        self._conn: socket.socket | None
        self._conn, self.pid = _request(kind, argv, env, fds or [], **extra)
        self.returncode: int | None = None

    def _done(self, timeout: float | None) -> bool:
        if self.returncode is None and self._conn is not None:
            try:
                answer = _line(self._conn, timeout)
            except TimeoutError:
                return False
            self._conn.close()
            self._conn = None
            self.returncode = int(answer.split()[1]) if answer.startswith("exit ") else -1
        return self.returncode is not None

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        self._done(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait (bounded by `timeout`) for the exit code; `subprocess.TimeoutExpired` if it still runs."""
        if not self._done(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill_group(self) -> None:
        """SIGKILL its whole session (it leads its own process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def __del__(self) -> None:
        if getattr(self, "_conn", None) is not None:
            self._conn.close()  # type: ignore[union-attr]


def launch(argv: list[str], env: dict[str, str], log: Path) -> ForkedProcess | subprocess.Popen[bytes]:
    """`python -m kitaru.server ARGV` with `env`, output appended to `log`, in a new session."""
    if fork_enabled():
        return ForkedProcess("server", argv, env, log=str(log))
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "kitaru.server", *argv], env=env, stdout=out, stderr=out,
                                start_new_session=True)


def run_kitaru(argv: list[str], *, cwd: Path | str, env: dict[str, str], input: str = "", timeout: float = 60,
               module: bool = False) -> subprocess.CompletedProcess[str]:
    """Like `subprocess.run([kitaru, *argv], capture_output=True, text=True, input=input, ...)` (`module`:
    `python -m kitaru.cli`, whose sys.path starts with `cwd`), forked from the zygote (a fresh interpreter
    with `KITARU_TEST_FORK=0`). On timeout its session is killed."""
    if not fork_enabled():
        use_script = KITARU_SCRIPT.exists() and not module
        command = [str(KITARU_SCRIPT)] if use_script else [sys.executable, "-m", "kitaru.cli"]
        return subprocess.run([*command, *argv], cwd=cwd, env=env, input=input, capture_output=True, text=True,
                              timeout=timeout, check=False)
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = ForkedProcess("command", argv, env, [stdin_r, out_w, err_w], cwd=str(cwd),
                             path0=str(cwd) if module else str(KITARU_SCRIPT.parent))
    finally:
        for fd in (stdin_r, out_w, err_w):
            os.close(fd)
    deadline = time.monotonic() + timeout
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    writer = threading.Thread(target=_feed, args=(os.fdopen(stdin_w, "wb"), input.encode()), daemon=True)
    writer.start()
    open_fds = [out_r, err_r]
    try:
        while open_fds:
            ready = select.select(open_fds, [], [], max(0.0, deadline - time.monotonic()))[0]
            if not ready:
                proc.kill_group()
                raise subprocess.TimeoutExpired(["kitaru", *argv], timeout)
            for fd in ready:
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    open_fds.remove(fd)
        try:
            code = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill_group()
            raise
    finally:
        os.close(out_r)
        os.close(err_r)
    return subprocess.CompletedProcess(["kitaru", *argv], code, _text(chunks[out_r]), _text(chunks[err_r]))


def _feed(pipe: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError), pipe:
        pipe.write(data)


def _text(chunks: list[bytes]) -> str:
    """Decode like `subprocess.run(text=True)` (universal newlines)."""
    return b"".join(chunks).decode().replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    sys.exit(_stand_in(sys.argv[1:]))
