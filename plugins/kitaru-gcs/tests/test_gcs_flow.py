"""A real flow on the stack `local orchestrator + gcs artifact store`: outputs land in the emulator's bucket and
the execution survives SIGKILL + retry; the stack is registered from YAML with a secret reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from gcs_helpers import names, stack_yaml
from google_fake import GoogleFake

import kitaru
from kitaru.stacks import StackSpecError, get_stack, register_stack
from kitaru.testing import kill_and_retry, read_elsewhere


def test_flow_on_gcs_stack_survives_sigkill_and_retry(tmp_path: Path, gcs_url: str, bucket: str, google: GoogleFake,
                                                       server_key: str, kitaru_home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    kitaru.create_secret("gcp-sa", service_account_key=server_key)
    spec = stack_yaml(gcs_url, bucket, f"{google.url}/v1/token")
    with pytest.raises(StackSpecError, match="service_account_key: plaintext secrets are not allowed"):
        register_stack("gcp.yaml", text=spec.replace("{secret: gcp-sa}", "'{\"type\": \"service_account\"}'"))
    register_stack("gcp.yaml", text=spec)
    assert get_stack("gcp").ready

    exec_id = kill_and_retry("gcp", tmp_path)

    # every byte is in the bucket, none in the local home
    stored = names(gcs_url, bucket, "kitaru/blobs/")
    from kitaru.store import current_state

    for call in current_state().load_journal(exec_id):
        ref = call["output"]
        assert ref["store"] == f"gs://{bucket}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in stored
    assert not (kitaru_home / "artifacts").exists() or not any((kitaru_home / "artifacts").rglob("*"))

    # another process reads the outputs through the registered stack; with the plugin disabled it says why
    out = read_elsewhere(exec_id)
    assert out.returncode == 0 and out.stdout.strip() == str(list(range(8))), out.stderr
    out = read_elsewhere(exec_id, KITARU_DISABLE_PLUGINS="all")
    assert out.returncode != 0 and "kitaru-gcs" in out.stderr, out.stderr
