"""A real flow on the stack `local orchestrator + gcs artifact store`: outputs land in the emulator's bucket and
the execution survives SIGKILL + retry; the stack is registered from YAML with a secret reference."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gcs_helpers import names, stack_yaml
from google_fake import GoogleFake

import kitaru
from kitaru.client import KitaruClient
from kitaru.stacks import StackSpecError, get_stack, register_stack

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
def gcs_flow(n: int = {N}) -> list:
    return [work(i)["i"] for i in range(n)]

if __name__ == "__main__":
    print(gcs_flow.run(stack="gcp").exec_id, flush=True)
'''


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _marks(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_flow_on_gcs_stack_survives_sigkill_and_retry(tmp_path: Path, gcs_url: str, bucket: str, google: GoogleFake,
                                                       server_key: str, kitaru_home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    marks = tmp_path / "marks.txt"
    monkeypatch.setenv("MARKS", str(marks))
    kitaru.create_secret("gcp-sa", service_account_key=server_key)
    spec = stack_yaml(gcs_url, bucket, f"{google.url}/v1/token")
    with pytest.raises(StackSpecError, match="service_account_key: plaintext secrets are not allowed"):
        register_stack("gcp.yaml", text=spec.replace("{secret: gcp-sa}", "'{\"type\": \"service_account\"}'"))
    register_stack("gcp.yaml", text=spec)
    assert get_stack("gcp").ready

    script = tmp_path / "gcs_agent.py"
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
    ex = client.executions.latest(flow="gcs_flow")
    assert ex.stack == "gcp"
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

    # every byte is in the bucket, none in the local home
    stored = names(gcs_url, bucket, "kitaru/blobs/")
    from kitaru.store import current_state

    for call in current_state().load_journal(ex.exec_id):
        ref = call["output"]
        assert ref["store"] == f"gs://{bucket}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in stored
    assert not (kitaru_home / "artifacts").exists() or not any((kitaru_home / "artifacts").rglob("*"))

    # another process reads the outputs through the registered stack; with the plugin disabled it says why
    read = ("from kitaru.client import KitaruClient; import sys;"
            " print(KitaruClient().executions.wait(sys.argv[1], timeout=30))")
    out = subprocess.run([sys.executable, "-c", read, ex.exec_id], capture_output=True, text=True, timeout=60,
                         env={**os.environ})
    assert out.returncode == 0 and out.stdout.strip() == str(list(range(N))), out.stderr
    out = subprocess.run([sys.executable, "-c", read, ex.exec_id], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "KITARU_DISABLE_PLUGINS": "all"})
    assert out.returncode != 0 and "kitaru-gcs" in out.stderr, out.stderr
