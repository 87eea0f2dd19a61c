"""A real flow on `local orchestrator + azure artifact store` against a Kitaru server: every output lands in the
Azurite container through brokered SAS tokens (no Azure identity outside the server), and the execution survives
SIGKILL + retry."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_helpers import Azurite, blob_names, register

from kitaru.store._remote import RemoteStateService
from kitaru.testing import LocalServer, kill_and_retry, read_elsewhere


def test_flow_on_azure_stack_survives_sigkill_and_retry(tmp_path: Path, azurite: Azurite, container: str,
                                                         server: LocalServer, kitaru_home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    register(azurite, container)

    exec_id = kill_and_retry("az", tmp_path)

    # every byte is in the container (committed blobs only), none in the local home
    names = blob_names(azurite, container, "kitaru/blobs/")
    for call in RemoteStateService(server.url, api_key=server.admin_key).load_journal(exec_id):
        ref = call["output"]
        assert ref["store"] == f"az://{container}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in names
    assert not (kitaru_home / "artifacts").exists() or not any((kitaru_home / "artifacts").rglob("*"))

    # another process reads the outputs; with the plugin disabled it says which package to install
    out = read_elsewhere(exec_id)
    assert out.returncode == 0 and out.stdout.strip() == str(list(range(8))), out.stderr
    out = read_elsewhere(exec_id, KITARU_DISABLE_PLUGINS="all")
    assert out.returncode != 0 and "kitaru-azure" in out.stderr, out.stderr
