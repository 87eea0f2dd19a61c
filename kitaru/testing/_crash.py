"""A stack under test survives what durable execution is for: a flow killed mid-run, then retried.

Every artifact store plugin runs it on a stack of its own (`local` orchestrator + the store) and then checks
where the bytes landed; see `kill_and_retry`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

FLOW = '''
import sys, time
import kitaru

@kitaru.checkpoint
def work(i: int, marks: str) -> dict:
    with open(marks, "a") as f:
        f.write(f"{i}\\n")
    time.sleep(0.15)
    return {"i": i, "pad": "x" * 4000}

@kitaru.flow
def crash_conformance(marks: str, n: int) -> list:
    return [work(i, marks)["i"] for i in range(n)]

if __name__ == "__main__":
    print(crash_conformance.run(sys.argv[1], int(sys.argv[2]), stack=sys.argv[3]).exec_id, flush=True)
'''

_READ = "from kitaru.client import KitaruClient; import sys; print(KitaruClient().executions.wait(sys.argv[1], timeout=30))"


def kill_and_retry(stack: str, workdir: Path, *, steps: int = 8) -> str:
    """Run a flow of `steps` checkpoints (each writes a 4 kB output) on `stack` in a process of its own, SIGKILL
    it once three checkpoints started, retry the execution from this process, and assert the promise: the retry
    returns every output (`list(range(steps))`), no checkpoint that had completed ran again, and the execution
    records two runs, every checkpoint completed. The execution's id, for the caller to check its store."""
    from kitaru.client import KitaruClient
    from kitaru.errors import KitaruError

    marks = workdir / "marks.txt"
    script = workdir / "crash_agent.py"
    script.write_text(FLOW)
    proc = subprocess.Popen([sys.executable, str(script), str(marks), str(steps), stack], cwd=workdir,
                            env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: len(_marks(marks)) >= 3 or proc.poll() is not None, 60, "three checkpoints")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)

    client = KitaruClient()
    execution = client.executions.latest(flow="crash_conformance")
    assert execution.stack == stack, execution.stack
    done_before = {c.invocation_id for c in execution.checkpoints if c.status == "completed"}
    assert done_before, "no checkpoint completed before the kill"
    exec_id = execution.exec_id
    _wait_for(lambda: client.executions.get(exec_id).status == "failed", 30, "the lease to expire")

    client.executions.retry(exec_id)
    try:
        result = client.executions.wait(exec_id, timeout=90)
    except KitaruError as exc:  # diagnostics: the failure record and the runner's log
        log = Path(os.environ.get("KITARU_HOME", "~/.kitaru")).expanduser() / "runners" / f"{exec_id}.log"
        raise AssertionError(f"{exc}\nfailure: {client.executions.get(exec_id).failure}\n"
                             f"runner log:\n{log.read_text()[-4000:] if log.exists() else '(none)'}") from exc
    assert result == list(range(steps)), result
    runs = _marks(marks)
    for i in range(steps):
        invocation = "work" if i == 0 else f"work_{i + 1}"
        assert runs.count(i) == 1 if invocation in done_before else 1 <= runs.count(i) <= 2, runs
    final = client.executions.get(exec_id)
    assert final.runs == 2 and all(c.status == "completed" for c in final.checkpoints)
    return exec_id


def read_elsewhere(exec_id: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`KitaruClient().executions.wait(exec_id)` in a new process (this environment, updated with `env`): it reads
    the outputs through the registered stack, as a user's other program would."""
    return subprocess.run([sys.executable, "-c", _READ, exec_id], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, check=False)


def _wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _marks(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []
