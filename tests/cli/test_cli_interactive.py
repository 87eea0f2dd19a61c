"""`kitaru executions input -i` driven through a real pseudo-terminal (stdlib pty), bounded waits."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import time
from pathlib import Path

from tests.cli.helpers import KITARU, cli_env, client, run_flow

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A command running on a pty: `expect` text, `send` lines, `finish` with its exit code."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # child: become the command
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd, self.seen, self.pos = pid, fd, "", 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.seen += _ANSI.sub("", data.decode(errors="replace")).replace("\r\n", "\n")
        return bool(data)

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.pos:]:
            if time.monotonic() > deadline or (not self._read(0.2) and self._exited()):
                raise AssertionError(f"did not see {text!r}; terminal showed:\n{self.seen}")
        self.pos = self.seen.index(text, self.pos) + len(text)

    def send(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def _exited(self) -> bool:
        return os.waitpid(self.pid, os.WNOHANG)[0] != 0 if self.pid else True

    def finish(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05):
                    pass
                os.close(self.fd)
                self.pid = 0
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"command did not exit; terminal showed:\n{self.seen}")


def _argv(*args: str) -> list[str]:
    return [*KITARU, *args]


def test_interactive_input_walks_every_waiting_execution(project: Path) -> None:
    first = run_flow(project, "approval", "--args", '{"topic": "ai"}')
    second = run_flow(project, "approval", "--args", '{"topic": "ml"}')
    term = Terminal(_argv("executions", "input", "-i"), project, cli_env(COLUMNS="140", TERM="xterm"))
    term.expect("[1/2]")
    term.expect("Publish ai?")
    term.expect("expects: boolean")
    term.send("maybe")  # plain text, not a boolean: rejected, asked again
    term.expect("invalid answer")
    term.send("true")
    term.expect("answered")
    term.expect("[2/2]")
    term.expect("Publish ml?")
    term.send("false")
    term.expect("answered")
    assert term.finish() == 0
    assert "approval" in term.seen[term.pos:]  # the summary table of answered executions
    assert client().executions.wait(first["exec_id"], timeout=30) == {"notes": "notes on ai", "approved": True}
    assert client().executions.wait(second["exec_id"], timeout=30) == {"notes": "notes on ml", "approved": False}


def test_input_without_value_prompts_on_a_terminal(project: Path) -> None:
    item = run_flow(project, "approval")
    term = Terminal(_argv("executions", "input"), project, cli_env(COLUMNS="140"))
    term.expect("Publish ai?")
    term.send("")  # an empty line skips: nothing is recorded
    term.expect("skipped")
    assert term.finish() == 0
    assert client().executions.get(item["exec_id"]).pending_waits
    term = Terminal(_argv("executions", "input", item["exec_id"]), project, cli_env(COLUMNS="140"))
    term.expect("Publish ai?")
    term.send(":abort")
    term.expect("aborted")
    assert term.finish() == 0
    deadline = time.monotonic() + 30
    while client().executions.get(item["exec_id"]).status.value != "cancelled":
        assert time.monotonic() < deadline, "aborting the wait should cancel the execution"
        time.sleep(0.05)
