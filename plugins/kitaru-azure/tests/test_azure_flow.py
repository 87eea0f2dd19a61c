"""A real flow on `local orchestrator + azure artifact store` against a Kitaru server: every output lands in the
Azurite container through brokered SAS tokens (no Azure identity outside the server), and the execution survives
SIGKILL + retry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure_helpers import Azurite, blob_names, register

import kitaru
from kitaru.client import KitaruClient
from kitaru.store._remote import RemoteStateService
from kitaru.testing import LocalServer

N = 8
FLOW = f'''
import os, time
import kitaru

@kitaru.checkpoint
def work(i: int) -> dict:
    with open(os.environ["MARKS"], "a") as f:
        f.write(f"{{i}}\\n")
    time.sleep(0.15)
    return {{"i": i, "pad": "x" * 4000}}

@kitaru.flow
def azure_flow(n: int = {N}) -> list:
    return [work(i)["i"] for i in range(n)]

if __name__ == "__main__":
    print(azure_flow.run(stack="az").exec_id, flush=True)
'''


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _marks(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_flow_on_azure_stack_survives_sigkill_and_retry(tmp_path: Path, azurite: Azurite, container: str,
                                                         server: LocalServer, kitaru_home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    marks = tmp_path / "marks.txt"
    monkeypatch.setenv("MARKS", str(marks))
    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    register(azurite, container)

    script = tmp_path / "azure_agent.py"
    script.write_text(FLOW)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env={**os.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: len(_marks(marks)) >= 3 or proc.poll() is not None, 60, "three checkpoints")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)

    client = KitaruClient()
    ex = client.executions.latest(flow="azure_flow")
    assert ex.stack == "az"
    done_before = {c.invocation_id for c in ex.checkpoints if c.status == "completed"}
    assert done_before, "some checkpoints completed before the kill"
    _wait_for(lambda: client.executions.get(ex.exec_id).status == "failed", 30, "the lease to expire")

    client.executions.retry(ex.exec_id)
    try:
        result = client.executions.wait(ex.exec_id, timeout=90)
    except kitaru.KitaruError as exc:  # diagnostics: the failure record and the runner's log
        log = kitaru_home / "runners" / f"{ex.exec_id}.log"
        pytest.fail(f"{exc}\nfailure: {client.executions.get(ex.exec_id).failure}\n"
                    f"runner log:\n{log.read_text()[-4000:] if log.exists() else '(none)'}")
    assert result == list(range(N))

    runs = _marks(marks)
    for i in range(N):
        inv = "work" if i == 0 else f"work_{i + 1}"
        assert runs.count(i) == 1 if inv in done_before else 1 <= runs.count(i) <= 2, runs
    final = client.executions.get(ex.exec_id)
    assert final.runs == 2 and all(c.status == "completed" for c in final.checkpoints)

    # every byte is in the container (committed blobs only), none in the local home
    names = blob_names(azurite, container, "kitaru/blobs/")
    for call in RemoteStateService(server.url, api_key=server.admin_key).load_journal(ex.exec_id):
        ref = call["output"]
        assert ref["store"] == f"az://{container}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in names
    assert not (kitaru_home / "artifacts").exists() or not any((kitaru_home / "artifacts").rglob("*"))

    # another process reads the outputs; with the plugin disabled it says which package to install
    read = "from kitaru.client import KitaruClient; import sys; print(KitaruClient().executions.wait(sys.argv[1], timeout=30))"
    out = subprocess.run([sys.executable, "-c", read, ex.exec_id], capture_output=True, text=True, timeout=60,
                         env={**os.environ})
    assert out.returncode == 0 and out.stdout.strip() == str(list(range(N))), out.stderr
    out = subprocess.run([sys.executable, "-c", read, ex.exec_id], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "KITARU_DISABLE_PLUGINS": "all"})
    assert out.returncode != 0 and "kitaru-azure" in out.stderr, out.stderr
