"""SIGKILL the server repeatedly while runtimes write checkpoints: nothing completed is lost or duplicated."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kitaru.client import KitaruClient
from tests.support import ROOT
from tests.server.support import ADMIN_KEY, ServerProcess, start_server

N_STEPS, N_RUNTIMES = 30, 4
FLOW = f'''
import hashlib, os, time
from kitaru import checkpoint, flow

@checkpoint
def work(i: int) -> str:
    with open(os.environ["MARKS"], "a") as f:
        f.write(f"{{i}}\\n")
    print(f"ran {{i}}")
    time.sleep(0.02)
    return hashlib.sha256(str(i).encode()).hexdigest()

@flow
def crashy() -> list:
    return [work(i) for i in range({N_STEPS})]

if __name__ == "__main__":
    h = crashy.run()
    print(h.exec_id, h.status, flush=True)
'''
EXPECTED = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(N_STEPS)]


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server, cleanup = start_server("postgresql", tmp_path_factory.mktemp("srv-crash"))
    yield server
    cleanup()  # type: ignore[operator]


def test_sigkill_the_server_while_runtimes_write(pg_server: ServerProcess, tmp_path: Path, flow_file,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    script = flow_file(FLOW, name="crashy_server.py")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KITARU_SERVER_URL": pg_server.url, "KITARU_API_KEY": ADMIN_KEY,
           "KITARU_LEASE_TTL": "2", "KITARU_CLIENT_RETRY_SECONDS": "60",
           "KITARU_CACHE": "0"}  # four identical runs must each run every checkpoint, not reuse each other's outputs
    marks = [tmp_path / f"marks{i}.txt" for i in range(N_RUNTIMES)]
    procs = [subprocess.Popen([sys.executable, str(script)], env={**env, "MARKS": str(m)}, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for m in marks]
    monkeypatch.setenv("KITARU_SERVER_URL", pg_server.url)
    monkeypatch.setenv("KITARU_API_KEY", ADMIN_KEY)
    sweeper = KitaruClient()
    kills = 0
    deadline = time.monotonic() + 90
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        if kills < 3 and sum(len(m.read_text().split()) for m in marks if m.exists()) >= (kills + 1) * 20:
            pg_server.kill()
            kills += 1
            time.sleep(2.5)  # longer than the lease TTL: only the restart grace keeps the runners' leases
            pg_server.start()
            sweeper.executions.list()  # a client sweeping lost runners right after the restart
        time.sleep(0.02)
    outputs = [p.communicate(timeout=30) for p in procs]
    assert kills == 3, "runtimes finished before the server could be killed three times"
    client = KitaruClient()
    for (out, err), m in zip(outputs, marks):
        exec_id, status = out.strip().splitlines()[-1].split()[:2]
        assert status == "completed", err[-2000:]
        assert client.executions.wait(exec_id, timeout=10) == EXPECTED
        ex = client.executions.get(exec_id)
        assert [c.invocation_id for c in ex.checkpoints] == ["work"] + [f"work_{i + 1}" for i in range(1, N_STEPS)]
        assert [(c.status, [a.attempt for a in c.attempts]) for c in ex.checkpoints] == [("completed", [1])] * N_STEPS
        assert sorted(int(x) for x in m.read_text().split()) == list(range(N_STEPS))  # none ran twice
        lines = [e.message for e in client.executions.logs(exec_id) if e.message.startswith("ran ")]
        assert lines == [f"ran {i}" for i in range(N_STEPS)]  # every log batch stored exactly once
