"""Against a Kitaru server, clients and runtimes hold no AWS credentials: the server mints scoped STS
credentials for the stack's bucket prefix (read for readers, write for writers) and they act with those."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3_helpers import REGION, ROOT_CREDS, boto

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
    print(brokered.run(topic="durable", stack="aws").exec_id, flush=True)
'''


@pytest.fixture
def server(tmp_path: Path, moto_url: str) -> Iterator[LocalServer]:
    """A Kitaru server whose own (ambient) AWS identity is the only one that can assume the broker role."""
    env = {"AWS_ACCESS_KEY_ID": ROOT_CREDS["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": ROOT_CREDS["aws_secret_access_key"], "AWS_DEFAULT_REGION": REGION}
    with LocalServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-home", env=env) as srv:
        yield srv


@pytest.fixture
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process and its children have no AWS credentials at all."""
    for var in [v for v in os.environ if v.startswith("AWS_") and v != "AWS_EC2_METADATA_DISABLED"]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


def _member_key(server: LocalServer) -> str:
    from tests.support import http

    admin = {"Authorization": f"Bearer {server.token()}"}
    http.post(f"{server.url}/api/v1/users", json={"name": "mia", "role": "member"}, headers=admin).raise_for_status()
    key = http.post(f"{server.url}/api/v1/api-keys", json={"principal": "mia"}, headers=admin).json()["api_key"]
    token = http.post(f"{server.url}/api/v1/auth/token", json={"api_key": key}).json()["access_token"]
    denied = http.post(f"{server.url}/api/v1/stacks/aws/credentials", json={"access": "write"},
                       headers={"Authorization": f"Bearer {token}"})  # a member's own process only reads
    assert denied.status_code == 403 and "aws_secret_access_key" not in denied.text
    return str(key)


@pytest.mark.parametrize("role", ["admin", "member"])
def test_runtime_and_client_act_with_credentials_the_server_brokers(
        role: str, tmp_path: Path, moto_url: str, bucket: str, broker_role: str, server: LocalServer, no_aws: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Also for a member, whose own process gets only read credentials: the flow's writes (inputs included)
    use credentials minted with the execution's runtime token, narrowed to the blob area."""
    from kitaru.stacks import register_stack

    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    register_stack("aws.yaml", text=textwrap.dedent(f"""
        name: aws
        orchestrator: {{flavor: local}}
        artifact_store: {{flavor: s3, path: s3://{bucket}/kitaru, region: {REGION}, endpoint_url: {moto_url},
                          role_arn: {broker_role}}}
    """))
    if role == "member":
        monkeypatch.setenv("KITARU_API_KEY", _member_key(server))
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

    keys = {o["Key"] for o in boto("s3", moto_url).list_objects_v2(Bucket=bucket, Prefix="kitaru/").get("Contents", [])}
    journal = RemoteStateService(server.url, api_key=server.admin_key).load_journal(exec_id)
    refs = [c["output"] for c in journal if c["type"] != "wait" and c.get("output")]
    assert len(refs) >= 2
    for ref in refs:  # written by the flow process (admin key) and by the runner (runtime token)
        assert ref["store"] == f"s3://{bucket}/kitaru"
        assert f"kitaru/blobs/sha256/{ref['sha256'][:2]}/{ref['sha256']}" in keys
    # a fresh reader (no AWS identity either) loads the outputs through read-only brokered credentials
    out = read_elsewhere(exec_id)
    assert out.returncode == 0 and out.stdout.strip() == "durable:ok", out.stderr[-3000:]


def test_a_reader_of_a_stack_with_secret_keys_gets_brokered_credentials(
        tmp_path: Path, moto_url: str, bucket: str, broker_role: str, server: LocalServer, no_aws: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime acts with the stack's keys (it may read the stack's secrets); a user's process may not read
    them, so it reads the outputs with credentials the server mints instead."""
    import kitaru
    from kitaru.stacks import register_stack

    monkeypatch.setenv("KITARU_SERVER_URL", server.url)
    monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
    kitaru.create_secret("aws-keys", **ROOT_CREDS)
    register_stack("aws.yaml", text=textwrap.dedent(f"""
        name: aws
        orchestrator: {{flavor: local}}
        artifact_store: {{flavor: s3, path: s3://{bucket}/kitaru, region: {REGION}, endpoint_url: {moto_url},
                          role_arn: {broker_role}, aws_access_key_id: {{secret: aws-keys}},
                          aws_secret_access_key: {{secret: aws-keys}}}}
    """))
    script = tmp_path / "agent.py"
    script.write_text(FLOW.replace("kitaru.wait(name=\"note\", schema=str, timeout=0)", "'direct'"))
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env={**os.environ}, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    exec_id = run.stdout.strip().splitlines()[-1]
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.get_secret("aws-keys")  # this process is a user's, not a runtime's
    assert KitaruClient().executions.wait(exec_id, timeout=60) == "durable:direct"


def test_without_a_server_this_environment_has_no_credentials(moto_url: str, bucket: str, no_aws: None) -> None:
    """The control for the test above: the same environment without a broker cannot write at all."""
    from botocore.exceptions import NoCredentialsError
    from kitaru_s3._config import S3ArtifactStoreConfig
    from kitaru_s3._store import S3ArtifactStore

    store = S3ArtifactStore(S3ArtifactStoreConfig(path=f"s3://{bucket}/kitaru", endpoint_url=moto_url, region=REGION))
    with pytest.raises(NoCredentialsError):
        store.write("a.txt", b"x")
    assert "Contents" not in boto("s3", moto_url).list_objects_v2(Bucket=bucket)
