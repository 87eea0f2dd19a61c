"""A real flow on the stack `local orchestrator + s3 artifact store`: outputs land in the moto bucket and the
execution survives SIGKILL + retry; the stack is registered from YAML with secret references."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from s3_helpers import REGION, boto

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
def s3_flow(n: int = {N}) -> list:
    return [work(i)["i"] for i in range(n)]

if __name__ == "__main__":
    print(s3_flow.run(stack="aws").exec_id, flush=True)
'''


def _stack_yaml(url: str, bucket: str) -> str:
    return textwrap.dedent(f"""
        name: aws
        orchestrator: {{flavor: local}}
        artifact_store:
          flavor: s3
          path: s3://{bucket}/kitaru
          region: {REGION}
          endpoint_url: {url}
          aws_access_key_id: {{secret: moto-aws}}
          aws_secret_access_key: {{secret: moto-aws}}
    """).lstrip()


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _marks(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_flow_on_s3_stack_survives_sigkill_and_retry(tmp_path: Path, moto_url: str, bucket: str,
                                                      kitaru_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)  # only the stack's secret references grant access
    marks = tmp_path / "marks.txt"
    monkeypatch.setenv("MARKS", str(marks))
    kitaru.create_secret("moto-aws", aws_access_key_id="testing", aws_secret_access_key="testing")
    plain = _stack_yaml(moto_url, bucket).replace("{secret: moto-aws}", "testing-plaintext", 2)
    with pytest.raises(StackSpecError, match="aws_secret_access_key: plaintext secrets are not allowed"):
        register_stack("aws.yaml", text=plain)
    register_stack("aws.yaml", text=_stack_yaml(moto_url, bucket))
    assert get_stack("aws").ready

    script = tmp_path / "s3_agent.py"
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
    ex = client.executions.latest(flow="s3_flow")
    assert ex.stack == "aws"
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
    s3 = boto("s3", moto_url)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="kitaru/blobs/").get("Contents", [])}
    from kitaru.store import current_state

    for call in current_state().load_journal(ex.exec_id):
        ref = call["output"]
        assert ref["store"] == f"s3://{bucket}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in keys
    assert not (kitaru_home / "artifacts").exists() or not any((kitaru_home / "artifacts").rglob("*"))

    # another process reads the outputs through the registered stack; with the plugin disabled it says why
    read = "from kitaru.client import KitaruClient; import sys; print(KitaruClient().executions.wait(sys.argv[1], timeout=30))"
    out = subprocess.run([sys.executable, "-c", read, ex.exec_id], capture_output=True, text=True, timeout=60,
                         env={**os.environ})
    assert out.returncode == 0 and out.stdout.strip() == str(list(range(N))), out.stderr
    out = subprocess.run([sys.executable, "-c", read, ex.exec_id], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "KITARU_DISABLE_PLUGINS": "all"})
    assert out.returncode != 0 and "kitaru-s3" in out.stderr, out.stderr
    from kitaru.plugins import reset_plugin_manager

    monkeypatch.setenv("KITARU_DISABLE_PLUGINS", "s3")
    reset_plugin_manager()
    info = get_stack("aws")
    assert not info.ready and "kitaru-s3" in info.problems[0] and "disabled" in info.problems[0]
