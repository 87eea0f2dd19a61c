"""The zygote stand-in behaves as the process it replaces: exit codes, signals, and death with its parent."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from kitaru.testing._forked import fork_enabled, forked_runners_env

pytestmark = pytest.mark.skipif(not fork_enabled(), reason="forking from the zygote is off (KITARU_TEST_FORK=0)")

MODULE = """
import os, signal, sys, time
open("pid", "w").write(str(os.getpid()))
how = sys.argv[1]
if how == "exit":
    sys.exit(int(sys.argv[2]))
if how == "signal":
    os.kill(os.getpid(), signal.SIGTERM)
time.sleep(120)
"""


def _stand_in(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """`python -m probe ARGS` as the local orchestrator starts a runner under `forked_runners_env()`."""
    (tmp_path / "probe.py").write_text(MODULE)
    env = {**os.environ, **forked_runners_env()}
    command = shlex.split(env["KITARU_LOCAL_RUNNER_COMMAND"].replace("-m kitaru.runtime", "-m probe"))
    return subprocess.Popen([*command, *args], cwd=tmp_path, env=env, start_new_session=True)


def _child_pid(tmp_path: Path) -> int:
    deadline = time.monotonic() + 30
    while not (tmp_path / "pid").exists() or not (tmp_path / "pid").read_text():
        assert time.monotonic() < deadline, "the forked module never started"
        time.sleep(0.02)
    return int((tmp_path / "pid").read_text())


def test_the_modules_exit_code_is_the_stand_ins(tmp_path: Path) -> None:
    proc = _stand_in(tmp_path, "exit", "3")
    assert proc.wait(timeout=30) == 3
    assert _child_pid(tmp_path) != proc.pid  # it really ran in another process: a zygote child


def test_a_module_killed_by_a_signal_kills_the_stand_in_with_that_signal(tmp_path: Path) -> None:
    proc = _stand_in(tmp_path, "signal")
    assert proc.wait(timeout=30) == -signal.SIGTERM


def test_sigkill_of_the_stand_ins_process_group_kills_the_forked_child(tmp_path: Path) -> None:
    """What a crash test does to a runner: the child (in the zygote's process tree) must die too."""
    proc = _stand_in(tmp_path, "sleep")
    child = _child_pid(tmp_path)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, f"the forked child {child} outlived its killed stand-in"
        time.sleep(0.02)


def test_sigterm_reaches_the_forked_child(tmp_path: Path) -> None:
    """A cancel (SIGTERM to the job's process group) is forwarded: the child ends by it, and so does the stand-in."""
    proc = _stand_in(tmp_path, "sleep")
    _child_pid(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == -signal.SIGTERM


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie the zygote has not reaped yet is dead
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"



def test_an_exit_that_arrives_with_the_pid_is_not_lost(tmp_path: Path) -> None:
    """A child that ends before its requester reads the `pid` line: both lines arrive in one read, and the exit
    code must still be the child's (a busy machine made a finished `kitaru run` look like exit -1)."""
    from kitaru.testing._forked import ForkedProcess

    (tmp_path / "quick.py").write_text("raise SystemExit(3)\n")
    real_socket = socket.socket

    class Late(real_socket):  # the requester is descheduled between sending its request and reading the answer
        late = True

        def recv(self, size: int, flags: int = 0) -> bytes:
            deadline = time.monotonic() + 10
            while self.late and real_socket.recv(self, 64, socket.MSG_PEEK).count(b"\n") < 2:
                assert time.monotonic() < deadline, "the zygote never reported the exit"
                time.sleep(0.01)
            self.late = False
            return real_socket.recv(self, size, flags)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "socket", Late)
        proc = ForkedProcess("module", ["quick"], dict(os.environ), cwd=str(tmp_path), path0=str(tmp_path))
    assert proc.wait(timeout=10) == 3
