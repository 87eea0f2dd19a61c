"""The production path end to end on Vertex AI: a client with no cloud credentials runs a flow on a vertex
stack; a real server on PostgreSQL brokers dispatch tokens (impersonation through the fake IAM Credentials)
and S3 credentials; the fake Vertex AI runs each CustomJob as a real `python -m kitaru.runtime` process that
fetches the shipped code archive and writes outputs to moto S3."""

from __future__ import annotations

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
from tests.e2e.flows import REMOTE_FLOWS as FLOWS  # noqa: E402
from tests.e2e.moto import assumable_role, boto  # noqa: E402
from tests.e2e.world import answer_as_a_member, cloud_world, moto_url  # noqa: E402,F401  (a fixture)
from tests.support import flow_file, flow_module, wait_for  # noqa: E402,F401  (the core's fixtures)

@pytest.fixture
def world(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Moto S3 + a fake Vertex AI + a server on PostgreSQL; this process connected as an admin without AWS/Google."""
    role = assumable_role(moto_url, "kitaru")

    def vertex(base_env: dict[str, str]) -> FakeVertex:
        return FakeVertex(grace_period=1.0, base_env={**base_env, "HOME": str(tmp_path / "pod-home")})

    with cloud_world(tmp_path, moto_url, monkeypatch, vertex, "vertex") as world:
        monkeypatch.setenv("KITARU_LEASE_TTL", "2")
        import kitaru
        from kitaru.stacks import register_stack

        kitaru.create_secret("vertex-admin", access_token=world["vertex"].admin_token)  # the server's Google identity
        register_stack("vertex.yaml", text=textwrap.dedent(f"""
            name: vx
            orchestrator: {{flavor: vertex, project: {world["vertex"].project}, region: {world["vertex"].region},
                            api_endpoint: "{world["vertex"].url}", iam_endpoint: "{world["vertex"].url}", logging_endpoint: "{world["vertex"].url}",
                            access_token: {{secret: vertex-admin}}, dispatch_service_account: {world["vertex"].dispatch_account},
                            image: "us-docker.pkg.dev/acme/agents/runtime:1"}}
            artifact_store: {{flavor: s3, path: "s3://{world["bucket"]}/kitaru", region: us-east-1,
                              endpoint_url: "{moto_url}", role_arn: "{role}"}}
        """), activate=False)
        yield world


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
    answered = answer_as_a_member(world["server"], handle.exec_id)
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
