"""The production path end to end on Vertex AI: a client with no cloud credentials runs a flow on a vertex
stack; a real server on PostgreSQL brokers dispatch tokens (impersonation through the fake IAM Credentials)
and S3 credentials; the fake Vertex AI runs each CustomJob as a real `python -m kitaru.runtime` process that
fetches the shipped code archive and writes outputs to moto S3."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kitaru_vertex")
pytest.importorskip("kitaru_s3")

from kitaru_vertex.testing import FakeVertex  # noqa: E402

from kitaru.client import KitaruClient  # noqa: E402
from kitaru.testing import LocalServer  # noqa: E402
from tests.e2e.flows import REMOTE_FLOWS as FLOWS  # noqa: E402
from tests.e2e.moto import ROOT_CREDS, assumable_role, boto, moto_server  # noqa: E402
from tests.server.support import pg_database  # noqa: E402
from tests.support import flow_file, flow_module, http, wait_for  # noqa: E402,F401  (the core's fixtures)

ROOT = Path(__file__).resolve().parents[3]

DISPATCH_GRACE = "3"
"""A dispatched runner's time to take its lease once its job is recorded (default 15 s, for real clusters): a job that
never starts (an image that cannot be pulled) fails after it; one still starting is kept by its orchestrator's answer."""


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def world(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Moto S3 + a fake Vertex AI + a server on PostgreSQL; this process connected as an admin without AWS/Google."""
    import uuid

    bucket = f"kitaru-{uuid.uuid4().hex[:10]}"
    boto("s3", moto_url).create_bucket(Bucket=bucket)
    role = assumable_role(moto_url, "kitaru")
    marks = tmp_path / "marks.txt"
    marks.touch()
    pod_home = tmp_path / "pod-home"
    pod_env = {"PYTHONPATH": str(ROOT), "HOME": str(pod_home), "MARKS": str(marks), "KITARU_LEASE_TTL": "2",
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
               "AWS_CONFIG_FILE": str(tmp_path / "none"), "SLOW": "0"}
    url, drop = pg_database()
    server_env = {"AWS_ACCESS_KEY_ID": ROOT_CREDS["aws_access_key_id"],
                  "AWS_SECRET_ACCESS_KEY": ROOT_CREDS["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1",
                  "KITARU_JOB_GRACE": "1", "KITARU_CANCEL_GRACE": "0.5", "KITARU_DISPATCH_GRACE": DISPATCH_GRACE}
    with FakeVertex(grace_period=1.0, base_env=pod_env) as vertex, \
            LocalServer(url, tmp_path / "server-home", env=server_env) as server:
        for var in [v for v in os.environ if v.startswith("AWS_")]:
            monkeypatch.delenv(var)
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("KITARU_LEASE_TTL", "2")
        monkeypatch.setenv("MARKS", str(marks))
        monkeypatch.setenv("KITARU_DISPATCH_GRACE", DISPATCH_GRACE)
        monkeypatch.setenv("KITARU_SERVER_URL", server.url)
        monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
        import kitaru
        from kitaru.stacks import register_stack

        kitaru.create_secret("vertex-admin", access_token=vertex.admin_token)  # the server's Google identity
        register_stack("vertex.yaml", text=textwrap.dedent(f"""
            name: vx
            orchestrator: {{flavor: vertex, project: {vertex.project}, region: {vertex.region},
                            api_endpoint: "{vertex.url}", iam_endpoint: "{vertex.url}", logging_endpoint: "{vertex.url}",
                            access_token: {{secret: vertex-admin}}, dispatch_service_account: {vertex.dispatch_account},
                            image: "us-docker.pkg.dev/acme/agents/runtime:1"}}
            artifact_store: {{flavor: s3, path: "s3://{bucket}/kitaru", region: us-east-1,
                              endpoint_url: "{moto_url}", role_arn: "{role}"}}
        """), activate=False)
        yield {"vertex": vertex, "server": server, "bucket": bucket, "marks": marks, "moto": moto_url}
    drop()  # type: ignore[operator]


def _jobs(vertex: FakeVertex) -> list[dict[str, Any]]:
    return vertex.jobs()


def test_run_on_vertex_from_a_client_without_cloud_credentials(world: dict[str, Any], flow_module) -> None:
    mod = flow_module(FLOWS, "vertex_agent")
    started = time.perf_counter()
    handle = mod.research.run("durable", stack="vx")
    assert time.perf_counter() - started < 30
    assert handle.wait(timeout=120) == "DURABLE!"
    [job] = _jobs(world["vertex"])
    env = {e["name"]: e.get("value", "") for e in job["jobSpec"]["workerPoolSpecs"][0]["containerSpec"]["env"]}
    token = env["KITARU_AUTH_TOKEN"]  # execution-scoped, never the caller's API key (README: how the token travels)
    assert token and token != world["server"].admin_key and env["KITARU_API_KEY"] == ""
    assert world["server"].admin_key not in str(job) and token not in world["server"].log.read_text()
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.orchestrator == "vertex" and execution.job_id == job["name"]
    mints = [r for r in world["vertex"].requests if r[1].endswith(":generateAccessToken")]
    assert mints  # the client dispatched with a brokered token of the dispatch account
    creates = [i for i, r in enumerate(world["vertex"].requests) if r[1].endswith("/customJobs")]
    assert world["vertex"].requests.index(mints[0]) < creates[0]
    keys = [o["Key"] for o in boto("s3", world["moto"]).list_objects_v2(Bucket=world["bucket"])["Contents"]]
    assert any(k.startswith("kitaru/code/sha256/") for k in keys) and any("/blobs/" in k for k in keys)


def test_a_killed_pod_is_lost_and_retry_does_not_rerun_completed_checkpoints(
        world: dict[str, Any], flow_module) -> None:
    world["vertex"].base_env["SLOW"] = "30"
    mod = flow_module(FLOWS, "vertex_agent2")
    handle = mod.research.run("kill", stack="vx")
    marks = world["marks"]
    wait_for(lambda: "slow" in marks.read_text().split(), timeout=90)
    [job] = _jobs(world["vertex"])
    world["vertex"].process(job["name"]).send_signal(signal.SIGKILL)
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "failed", timeout=60, interval=0.5)
    world["vertex"].base_env["SLOW"] = "0"
    client.executions.retry(handle.exec_id)
    assert handle.wait(timeout=120) == "KILL!"
    assert marks.read_text().split().count("fetch") == 1  # the completed checkpoint was not run again
    assert len(_jobs(world["vertex"])) == 2


def test_an_answer_from_another_user_is_dispatched_by_the_server(world: dict[str, Any], flow_module) -> None:
    mod = flow_module(FLOWS, "vertex_agent3")
    handle = mod.approved.run("wait", stack="vx")
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "waiting", timeout=90, interval=0.3)
    server = world["server"]
    admin = {"Authorization": f"Bearer {server.token()}"}
    http.post(f"{server.url}/api/v1/users", json={"name": "reviewer", "role": "member"}, headers=admin,
              timeout=10).raise_for_status()
    key = http.post(f"{server.url}/api/v1/api-keys", json={"name": "k", "principal": "reviewer"}, headers=admin,
                    timeout=10).json()["api_key"]
    token = http.post(f"{server.url}/api/v1/auth/token", json={"api_key": key}, timeout=10).json()["access_token"]
    answered = http.post(f"{server.url}/api/v1/executions/{handle.exec_id}/waits/resolve",
                         json={"invocation_id": "ok", "status": "answered", "answer": True},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answered.status_code == 200, answered.text
    assert handle.wait(timeout=120) == "WAIT"
    assert len(_jobs(world["vertex"])) == 2  # the server dispatched the continuation


def test_cancel_cancels_the_custom_job(world: dict[str, Any], flow_module) -> None:
    world["vertex"].base_env["SLOW"] = "60"
    mod = flow_module(FLOWS, "vertex_agent4")
    handle = mod.research.run("stop", stack="vx")
    wait_for(lambda: "slow" in world["marks"].read_text().split(), timeout=90)
    client = KitaruClient()
    client.executions.cancel(handle.exec_id)
    wait_for(lambda: client.executions.get(handle.exec_id).status == "cancelled", timeout=60, interval=0.5)
    [job] = _jobs(world["vertex"])
    assert job["state"] == "JOB_STATE_CANCELLED"
    assert any(r[1] == f"/v1/{job['name']}:cancel" for r in world["vertex"].requests)


def test_a_job_that_fails_before_the_runtime_starts_is_failed_with_origin_infrastructure(world: dict[str, Any], flow_module) -> None:
    world["vertex"].fail_before_start("us-docker.pkg.dev/acme/*", "Unable to pull image: manifest unknown")
    mod = flow_module(FLOWS, "vertex_agent5")
    handle = mod.research.run("img", stack="vx")
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "failed", timeout=90, interval=0.5)
    failure = client.executions.get(handle.exec_id).failure
    assert failure is not None and str(failure.origin) == "infrastructure"
    assert "manifest unknown" in failure.message, failure.message
