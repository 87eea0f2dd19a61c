"""A real flow on the stack `local orchestrator + s3 artifact store`: outputs land in the moto bucket and the
execution survives SIGKILL + retry; the stack is registered from YAML with secret references."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from s3_helpers import REGION, boto

import kitaru
from kitaru.stacks import StackSpecError, get_stack, register_stack
from kitaru.testing import kill_and_retry, read_elsewhere


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


def test_flow_on_s3_stack_survives_sigkill_and_retry(tmp_path: Path, moto_url: str, bucket: str,
                                                      kitaru_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)  # only the stack's secret references grant access
    kitaru.create_secret("moto-aws", aws_access_key_id="testing", aws_secret_access_key="testing")
    plain = _stack_yaml(moto_url, bucket).replace("{secret: moto-aws}", "testing-plaintext", 2)
    with pytest.raises(StackSpecError, match="aws_secret_access_key: plaintext secrets are not allowed"):
        register_stack("aws.yaml", text=plain)
    register_stack("aws.yaml", text=_stack_yaml(moto_url, bucket))
    assert get_stack("aws").ready

    exec_id = kill_and_retry("aws", tmp_path)

    # every byte is in the bucket, none in the local home
    s3 = boto("s3", moto_url)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="kitaru/blobs/").get("Contents", [])}
    from kitaru.store import current_state

    for call in current_state().load_journal(exec_id):
        ref = call["output"]
        assert ref["store"] == f"s3://{bucket}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in keys
    assert not (kitaru_home / "artifacts").exists() or not any((kitaru_home / "artifacts").rglob("*"))

    # another process reads the outputs through the registered stack; with the plugin disabled it says why
    out = read_elsewhere(exec_id)
    assert out.returncode == 0 and out.stdout.strip() == str(list(range(8))), out.stderr
    out = read_elsewhere(exec_id, KITARU_DISABLE_PLUGINS="all")
    assert out.returncode != 0 and "kitaru-s3" in out.stderr, out.stderr
    from kitaru.plugins import reset_plugin_manager

    monkeypatch.setenv("KITARU_DISABLE_PLUGINS", "s3")
    reset_plugin_manager()
    info = get_stack("aws")
    assert not info.ready and "kitaru-s3" in info.problems[0] and "disabled" in info.problems[0]
