"""Start test servers and `kitaru` commands by forking a warm process instead of a fresh interpreter.

Importing the server (FastAPI, SQLAlchemy, psycopg, uvicorn, routes, UI) or the CLI is most of the time such a
subprocess takes. A zygote (`python -m kitaru.testing._zygote`, one per test process) imports them once; each
server or command is then a child forked from it with its own session, environment, working directory,
stdin/stdout/stderr and exit code, as isolated as a new interpreter (`kitaru.testing._zygote` has the
protocol). `KITARU_TEST_FORK=0` turns it off: every process is then a fresh interpreter.

A program that must start a command itself (the MCP SDK's stdio client) runs `forked_command(argv, env)`:
`python -S THIS_FILE ARGV…`, a stdlib-only stand-in that hands its own stdin/stdout/stderr to a zygote child,
forwards SIGTERM/SIGINT/SIGHUP to it and exits with its exit code.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shlex
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


_SESSION_ENV = "KITARU_TEST_ZYGOTE_SESSION"
"""The socket of the zygote a pytest-xdist controller started for its workers to share (`share_zygote`)."""


def _spawn_zygote() -> tuple[subprocess.Popen[bytes], str]:
    """Start a zygote with none of the calling test's KITARU_* settings; its socket appears once it listens."""
    path = os.path.join(tempfile.mkdtemp(prefix="kitaru-zygote-"), "sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen([sys.executable, "-m", "kitaru.testing._zygote", path], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    atexit.register(shutil.rmtree, os.path.dirname(path), True)  # the zygote exits when its stdin closes
    return proc, path


def share_zygote() -> None:
    """Start this test session's zygote now, without waiting for it, for the processes this one starts next
    (pytest-xdist workers) to share: the server and the CLI are imported once per session, not once per worker."""
    global _zygote
    if fork_enabled() and _SESSION_ENV not in os.environ:
        with _lock:
            _zygote = _spawn_zygote()
        os.environ[_SESSION_ENV] = _zygote[1]


def _socket_path() -> str:
    """The session's shared zygote socket, or this process's own zygote's (started on first use)."""
    global _zygote
    shared = os.environ.get(_SESSION_ENV)
    if shared:
        deadline = time.monotonic() + 180  # it imports everything first, on a machine busy with other workers
        while not os.path.exists(shared):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the session's test zygote did not start listening on {shared} within 180 s")
            time.sleep(0.05)
        return shared
    with _lock:
        if _zygote is None or _zygote[0].poll() is not None:
            proc, path = _spawn_zygote()
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"the test zygote did not start (exit {proc.wait(timeout=10)})")
            _zygote = (proc, path)
        return _zygote[1]


_ZYGOTE_ENV = "KITARU_TEST_ZYGOTE"
"""The zygote socket a stand-in started by `forked_command` connects to."""


def _stand_in_command() -> list[str]:
    """`python -S THIS_FILE`: the stdlib-only stand-in (no site-packages to set up), before its arguments."""
    return [sys.executable, "-S", os.path.abspath(__file__)]


def forked_command(argv: list[str], env: dict[str, str]) -> tuple[str, list[str], dict[str, str]]:
    """(command, args, env) that run `kitaru ARGV` forked from this process's zygote, for a program that starts
    the process itself; `kitaru` itself, a fresh interpreter, when forking is off."""
    if not fork_enabled():
        return str(KITARU_SCRIPT), argv, env
    python, *stand_in = _stand_in_command()
    return python, [*stand_in, *argv], {**env, _ZYGOTE_ENV: _socket_path()}


def forked_container(args: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """A fake cloud's container command `python -m kitaru.runtime ARGS` (this environment's python, found on the
    container's PATH) as a zygote child through the stand-in, with the same arguments, environment and exit;
    any other command (an entrypoint that execs one, say: the child could then outlive the stand-in), or with
    forking off, unchanged."""
    if not fork_enabled() or args[1:3] != ["-m", "kitaru.runtime"]:
        return args, env
    found = shutil.which(args[0], path=env.get("PATH"))
    if found is None or os.path.dirname(os.path.abspath(found)) != os.path.dirname(sys.executable):
        return args, env
    return [*_stand_in_command(), *args[1:]], {**env, _ZYGOTE_ENV: _socket_path()}


def forked_runners_env() -> dict[str, str]:
    """The settings under which the `local` orchestrator forks its runners (`python -m kitaru.runtime EXEC_ID`)
    from the zygote, through the stand-in, instead of starting a fresh interpreter; {} when forking is off."""
    if not fork_enabled():
        return {}
    return {"KITARU_LOCAL_RUNNER_COMMAND": shlex.join([*_stand_in_command(), "-m", "kitaru.runtime"]),
            _ZYGOTE_ENV: _socket_path()}


def signal_session(pid: int, signum: int) -> None:
    """Signal the session that process `pid` leads (a zygote child, a server), or only the process while it has not
    started its session yet (just forked: `os.killpg` finds no such group then); nothing if it is gone."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _stand_in(argv: list[str]) -> int:
    """The body of `python _forked.py ARGV`: run `kitaru ARGV` (or `python -m ARGV` for `-m ARGV`) as a zygote
    child on this process's stdio, in this process's environment. Signals are forwarded to it, it dies with this
    process, and its exit is this process's: the same code, or the same signal."""
    path = os.environ[_ZYGOTE_ENV]
    if argv[:1] == ["-m"]:
        kind, argv, path0 = "module", argv[1:], os.getcwd()
    else:
        kind, path0 = "command", str(KITARU_SCRIPT.parent)
    conn, pid = _request(kind, argv, dict(os.environ), [0, 1, 2], path=path, cwd=os.getcwd(), path0=path0,
                         watch=str(os.getpid()))

    def forward(signum: int, _frame: object) -> None:
        signal_session(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    answer = _line(conn, None)
    code = int(answer.split()[1]) if answer.startswith("exit ") else 1
    if code < 0:  # killed by a signal: end the same way, so a parent sees what it would see of a real process
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


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
    """One line from the zygote ('' if it closed); TimeoutError after `timeout`. It never reads past the line:
    a child that ended at once has its `exit` line right behind its `pid` line, to be read next."""
    data = b""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not data.endswith(b"\n"):
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([conn], [], [], wait)[0]:
            raise TimeoutError
        ahead = conn.recv(256, socket.MSG_PEEK)
        if not ahead:
            break
        end = ahead.find(b"\n")
        data += conn.recv(len(ahead) if end < 0 else end + 1)
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
        signal_session(self.pid, signal.SIGKILL)

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
