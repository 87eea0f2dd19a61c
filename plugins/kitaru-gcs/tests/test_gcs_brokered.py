"""Against a Kitaru server, clients and runtimes hold no Google identity: the server downscopes its own token
to the stack's bucket prefix (read for readers, write for writers) and they act with that. A proxy in
front of the emulator enforces the tokens and their access boundaries as GCS would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from boundary_proxy import BoundaryProxy
from gcs_helpers import names
from google_fake import GoogleFake

from kitaru.client import KitaruClient
from kitaru.store._remote import RemoteStateService
from kitaru.testing import LocalServer, read_elsewhere

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
    print(brokered.run(topic="durable", stack="gcp").exec_id, flush=True)
'''


@pytest.fixture
def proxy(gcs_url: str, google: GoogleFake) -> Iterator[BoundaryProxy]:
    with BoundaryProxy(gcs_url, google) as p:
        yield p


@pytest.fixture
def server(tmp_path: Path, server_key: str) -> Iterator[LocalServer]:
    """A Kitaru server whose own Google identity (a service-account key file) is the only one around."""
    key_file = tmp_path / "server-sa.json"
    key_file.write_text(server_key)
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "NO_GCE_CHECK": "true"}
    with LocalServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-home", env=env) as srv:
        yield srv


def _register(bucket: str, proxy: BoundaryProxy, google: GoogleFake, server: LocalServer,
              monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.stacks import register_stack

    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    register_stack("gcp.yaml", text=textwrap.dedent(f"""
        name: gcp
        orchestrator: {{flavor: local}}
        artifact_store: {{flavor: gcs, path: gs://{bucket}/kitaru, endpoint_url: {proxy.url},
                          sts_endpoint_url: {google.url}/v1/token, project: test-project}}
    """))


def test_runtime_and_client_act_with_credentials_the_server_brokers(
        tmp_path: Path, gcs_url: str, bucket: str, google: GoogleFake, proxy: BoundaryProxy, server: LocalServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _register(bucket, proxy, google, server, monkeypatch)
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

    stored = names(gcs_url, bucket, "kitaru/")
    journal = RemoteStateService(server.url, api_key=server.admin_key).load_journal(exec_id)
    refs = [c["output"] for c in journal if c["type"] != "wait" and c.get("output")]
    assert len(refs) >= 2
    for ref in refs:  # written by the flow process (admin key) and by the runner (runtime token)
        assert ref["store"] == f"gs://{bucket}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in stored
    # a fresh reader (no Google identity either) loads the outputs through read-only brokered credentials
    out = read_elsewhere(exec_id)
    assert out.returncode == 0 and out.stdout.strip() == "durable:ok", out.stderr[-3000:]
    # every storage request carried a downscoped token and passed its boundary; none used the server's own
    assert proxy.log and all(kind == "downscoped" and ok for kind, _, ok in proxy.log), proxy.log
    assert {"storage.objects.create", "storage.objects.get"} <= {perm for _, perm, _ in proxy.log}


def test_brokered_tokens_cannot_leave_the_prefix_or_exceed_their_access(
        tmp_path: Path, gcs_url: str, bucket: str, google: GoogleFake, proxy: BoundaryProxy, server: LocalServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An attacker holding a minted token tries what it must not do; GCS (here: the proxy) refuses."""
    import requests

    _register(bucket, proxy, google, server, monkeypatch)
    api = RemoteStateService(server.url, api_key=server.admin_key)
    write = api.mint_credentials("gcp", access="write", ttl=600)
    read = api.mint_credentials("gcp", access="read", ttl=600)
    assert write["flavor"] == "gcs" and write["values"]["prefix"] == "kitaru"
    assert write["values"]["access_token"] in google.boundaries  # a downscoped token, not the server's own

    def upload(token: str, name: str, data: bytes = b"x", **params: str) -> int:
        return requests.post(f"{proxy.url}/upload/storage/v1/b/{bucket}/o", data=data,
                             params={"uploadType": "media", "name": name, **params},
                             headers={"Authorization": f"Bearer {token}"}).status_code

    w, r = write["values"]["access_token"], read["values"]["access_token"]
    assert upload(w, "kitaru/blobs/ok", ifGenerationMatch="0") == 200
    assert upload(w, "kitaru-prod/evil") == 403  # a sibling prefix sharing the name's start
    assert upload(w, "elsewhere/evil") == 403
    assert upload(w, "kitaru/blobs/ok", b"overwrite") == 403  # create-once: no overwrite without delete
    assert upload(r, "kitaru/new") == 403  # a reader cannot write
    def get(token: str, name: str) -> int:
        return requests.get(f"{proxy.url}/download/storage/v1/b/{bucket}/o/{requests.utils.quote(name, safe='')}",
                            params={"alt": "media"}, headers={"Authorization": f"Bearer {token}"}).status_code

    requests.post(f"{gcs_url}/upload/storage/v1/b/{bucket}/o", data=b"secret",
                  params={"uploadType": "media", "name": "kitaru-prod/secret"})
    assert get(r, "kitaru/blobs/ok") == 200
    assert get(r, "kitaru-prod/secret") == 403
    assert get("forged-token", "kitaru/blobs/ok") == 401
    assert names(gcs_url, bucket) == {"kitaru/blobs/ok", "kitaru-prod/secret"}


def test_without_a_server_this_environment_has_no_credentials(gcs_url: str, bucket: str) -> None:
    """The control for the tests above: the same environment without a broker cannot act at all."""
    from kitaru_gcs._config import GCSArtifactStoreConfig
    from kitaru_gcs._store import GCSArtifactStore

    from kitaru.errors import KitaruBackendError

    store = GCSArtifactStore(GCSArtifactStoreConfig(path=f"gs://{bucket}/kitaru", endpoint_url=gcs_url))
    with pytest.raises(KitaruBackendError, match="no Google Cloud identity"):
        store.write("a.txt", b"x")
    assert names(gcs_url, bucket) == set()


def test_the_store_refreshes_brokered_tokens_before_they_expire(gcs_url: str, bucket: str, google: GoogleFake,
                                                                server_key: str) -> None:
    """Tokens far from expiry are reused; one within the refresh margin is replaced before the next request."""
    from datetime import datetime, timedelta, timezone

    from kitaru_gcs._config import GCSArtifactStoreConfig
    from kitaru_gcs._store import GCSArtifactStore

    from kitaru.plugins import Credentials

    minting = GCSArtifactStore(GCSArtifactStoreConfig(path=f"gs://{bucket}/kitaru", endpoint_url=gcs_url,
                                                      service_account_key=server_key,
                                                      sts_endpoint_url=f"{google.url}/v1/token"))
    lifetimes: list[int] = [3600, 3600, 120, 3600]
    calls: list[tuple[str, str]] = []

    def broker(access: str) -> Credentials:
        creds = minting.mint_credentials("", access=access, ttl=3600)  # type: ignore[arg-type]
        expires = datetime.now(timezone.utc) + timedelta(seconds=lifetimes.pop(0))
        calls.append((access, creds.values["access_token"]))
        return Credentials(creds.flavor, creds.access, creds.scope, expires, creds.values)

    with BoundaryProxy(gcs_url, google) as proxy:
        store = GCSArtifactStore(GCSArtifactStoreConfig(path=f"gs://{bucket}/kitaru", endpoint_url=proxy.url),
                                 broker=broker)
        assert not store.exists("blobs/a")  # read token #1
        store.write("blobs/a", b"1")  # write token #2 (read-only credentials cannot write)
        store.write("blobs/b", b"2")
        assert [a for a, _ in calls] == ["read", "write"]
        store._conn("write")[0]._credentials.expiry = datetime.utcnow() + timedelta(seconds=120)  # noqa: DTZ003
        store.write("blobs/c", b"3")  # inside google-auth's refresh margin: a new token first (#3, 120 s)
        store.write("blobs/d", b"4")  # that one is inside the margin too: #4
        store.write("blobs/e", b"5")
        assert [a for a, _ in calls] == ["read", "write", "write", "write"]
        used = {kind for kind, _, _ in proxy.log}
    assert used == {"downscoped"} and all(ok for _, _, ok in proxy.log)
    assert names(gcs_url, bucket) == {f"kitaru/blobs/{k}" for k in "abcde"}
