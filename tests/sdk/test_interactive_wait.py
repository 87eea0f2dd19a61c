"""With a terminal attached, `kitaru.wait()` prompts there and the run continues in-process."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support import ROOT

FLOW = '''
import kitaru
from kitaru import checkpoint, flow

@checkpoint
def shout(x: str) -> str:
    return x.upper()

@flow
def ask() -> str:
    n = kitaru.wait(schema=int, question="How many?")
    return shout("ok") * n

if __name__ == "__main__":
    h = ask.run()
    print("STATUS", h.status, h.get(), flush=True)
'''


def _read_until(fd: int, needle: bytes, timeout: float = 30) -> bytes:
    buf, deadline = b"", time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{needle!r} not seen; got {buf!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_wait_prompts_at_the_terminal_and_rejects_invalid_answers(tmp_path: Path) -> None:
    script = tmp_path / "ask.py"
    script.write_text(FLOW)
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("KITARU_INTERACTIVE")  # auto-detect: stdin and stdout are a terminal
    proc = subprocess.Popen([sys.executable, str(script)], stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=tmp_path)
    os.close(slave)
    try:
        _read_until(master, b"How many?")
        os.write(master, b"lots\n")
        _read_until(master, b"invalid answer")
        os.write(master, b"3\n")
        out = _read_until(master, b"STATUS")
        out += _read_until(master, b"\n")
        assert b"STATUS completed OKOKOK" in out
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        os.close(master)
