"""Against a Kitaru server, clients and runtimes hold no Azure identity: the server mints SAS tokens for the stack's
container (read-only for readers, read-write for writers) through `POST /api/v1/stacks/{name}/credentials`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from azure_helpers import Azurite, blob_names, register

from kitaru.client import KitaruClient
from kitaru.store._remote import RemoteStateService
from kitaru.testing import LocalServer, read_elsewhere
from tests.support import http

FLOW = '''
import kitaru

@kitaru.checkpoint
def fetch(topic: str) -> dict:
    return {"topic": topic, "pad": "x" * 3000}

@kitaru.checkpoint
def write(doc: dict, note: str) -> str:
    return f"{doc['topic']}:{note}"

@kitaru.flow
def brokered(topic: str) -> str:
    doc = fetch(topic)
    note = kitaru.wait(name="note", schema=str, timeout=0)
    return write(doc, note)

if __name__ == "__main__":
    print(brokered.run(topic="durable", stack="az").exec_id, flush=True)
'''


def test_runtime_and_client_act_with_sas_the_server_brokers(
        tmp_path: Path, azurite: Azurite, container: str, server: LocalServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    register(azurite, container)
    script = tmp_path / "agent.py"
    script.write_text(FLOW)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env={**os.environ}, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    exec_id = run.stdout.strip().splitlines()[-1]

    client = KitaruClient()
    assert client.executions.get(exec_id).status == "waiting"
    client.executions.input(exec_id, value="ok")  # a detached runner with an execution-scoped token continues
    assert client.executions.wait(exec_id, timeout=90) == "durable:ok"

    names = blob_names(azurite, container, "kitaru/")
    journal = RemoteStateService(server.url, api_key=server.admin_key).load_journal(exec_id)
    refs = [c["output"] for c in journal if c["type"] != "wait" and c.get("output")]
    assert len(refs) >= 2
    for ref in refs:  # written by the flow process (admin key) and by the runner (runtime token)
        assert ref["store"] == f"az://{container}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in names
    # a fresh reader (no Azure identity either) loads the outputs through a read-only brokered SAS
    out = read_elsewhere(exec_id)
    assert out.returncode == 0 and out.stdout.strip() == "durable:ok", out.stderr[-3000:]


def test_the_credentials_route_mints_sas_by_role(azurite: Azurite, container: str, server: LocalServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """What the route hands out: a read SAS that cannot write, a write SAS that can; viewers get read only."""
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import ContainerClient

    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    register(azurite, container)
    headers = {"Authorization": f"Bearer {server.token()}"}
    url = f"{server.url}/api/v1/stacks/az/credentials"
    grants = {}
    for access in ("read", "write"):
        resp = http.post(url, json={"access": access, "ttl": 600}, headers=headers, timeout=30)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["flavor"] == "azure" and body["root"] == f"az://{container}/kitaru"
        assert body["values"]["resource"] == "container" and body["values"]["signed_with"] == "account-key"
        grants[access] = ContainerClient.from_container_url(f"{azurite.url}/{container}?{body['values']['sas_token']}")
    grants["write"].upload_blob("kitaru/by-writer", b"w")
    assert grants["read"].download_blob("kitaru/by-writer").readall() == b"w"
    with pytest.raises(HttpResponseError) as denied:
        grants["read"].upload_blob("kitaru/by-reader", b"r")
    assert denied.value.status_code == 403
    resp = http.post(url, json={"access": "read", "ttl": 86400}, headers=headers, timeout=30)
    expires = resp.json()["expires_at"]
    from datetime import datetime, timedelta, timezone

    assert datetime.fromisoformat(expires) <= datetime.now(timezone.utc) + timedelta(seconds=3601)  # capped at 1 h
    assert http.post(url, json={"access": "read"}, timeout=30).status_code == 401  # anonymous: nothing


def test_without_a_server_this_environment_has_no_credentials(azurite: Azurite, container: str) -> None:
    """The control for the tests above: the same environment without a broker cannot write at all."""
    from kitaru_azure._config import AzureArtifactStoreConfig
    from kitaru_azure._store import AzureArtifactStore

    from kitaru.errors import KitaruUsageError

    store = AzureArtifactStore(AzureArtifactStoreConfig(path=f"az://{container}/kitaru", account_url=azurite.url))
    with pytest.raises(KitaruUsageError, match="no credentials"):
        store.write("a.txt", b"x")
    assert blob_names(azurite, container) == set()
