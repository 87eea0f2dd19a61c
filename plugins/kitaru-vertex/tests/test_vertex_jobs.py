"""CustomJobs on the fake Vertex AI: the wire JSON, real processes, states, cancel, failures before start."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from kitaru.errors import KitaruError, KitaruUsageError
from kitaru.plugins import JobSpec
from kitaru_vertex import VertexError, VertexJobNotFoundError
from kitaru_vertex.testing import FakeVertex

from vertex_helpers import IMAGE, eventually

SECRET_ENV = {"KITARU_AUTH_TOKEN": "tok-s3cr3t-value", "KITARU_SERVER_URL": "http://127.0.0.1:1"}


def py(code: str, exec_id: str = "exec-1", **env: str) -> JobSpec:
    return JobSpec(exec_id=exec_id, command=[sys.executable, "-c", code], env=env)


def test_wire_json_carries_every_option(vertex: FakeVertex) -> None:
    orch = vertex.orchestrator(
        image=IMAGE, machine_type="a2-highgpu-1g", accelerator_type="NVIDIA_TESLA_A100", accelerator_count=1,
        boot_disk_type="pd-standard", boot_disk_size_gb=200,
        service_account=f"runner@{vertex.project}.iam.gserviceaccount.com",
        network="projects/123456/global/networks/agents", reserved_ip_ranges=["kitaru-range"],
        labels={"team": "ml"}, encryption_key="projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
        timeout_seconds=3600, env={"LOG_LEVEL": "debug"})
    job_id = orch.submit(py("pass", exec_id="Exec_ABC", **SECRET_ENV))
    assert job_id.startswith(f"projects/{vertex.project}/locations/us-central1/customJobs/")
    [body] = vertex.created
    assert set(body) == {"displayName", "jobSpec", "labels", "encryptionSpec"}
    assert body["displayName"].startswith("kitaru-exec-abc-")
    assert body["labels"] == {"team": "ml", "managed-by": "kitaru", "kitaru-execution": "exec_abc"}
    assert body["encryptionSpec"] == {"kmsKeyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"}
    spec = body["jobSpec"]
    assert spec["serviceAccount"] == f"runner@{vertex.project}.iam.gserviceaccount.com"
    assert spec["network"] == "projects/123456/global/networks/agents" and spec["reservedIpRanges"] == ["kitaru-range"]
    assert spec["scheduling"] == {"timeout": "3600s"}
    [pool] = spec["workerPoolSpecs"]
    from google.cloud.aiplatform_v1 import AcceleratorType

    assert pool["machineSpec"] == {"machineType": "a2-highgpu-1g", "acceleratorCount": 1,  # enums go as numbers
                                   "acceleratorType": AcceleratorType.NVIDIA_TESLA_A100.value}
    assert int(pool["replicaCount"]) == 1
    assert pool["diskSpec"] == {"bootDiskType": "pd-standard", "bootDiskSizeGb": 200}
    container = pool["containerSpec"]
    assert container["imageUri"] == IMAGE and container["command"] == [sys.executable, "-c", "pass"]
    assert {e["name"]: e["value"] for e in container["env"]} == {"LOG_LEVEL": "debug", **SECRET_ENV}
    assert orch.wait(job_id, timeout=30, poll=0.05).state == "succeeded"


def test_job_runs_as_a_process_with_its_env_and_reports_states(vertex: FakeVertex) -> None:
    vertex.queue_delay, vertex.provision_delay = 0.4, 0.4
    orch = vertex.orchestrator(image=IMAGE)
    job_id = orch.submit(py("import os; print('token', os.environ['KITARU_AUTH_TOKEN'][:3], os.environ['CLOUD_ML_JOB_ID'])",
                            **SECRET_ENV))
    seen: set[tuple[str, str]] = set()
    status = orch.status(job_id)
    while not status.done:
        seen.add((status.state, status.message.split()[2]))  # "CustomJob N <state> ..."
        status = orch.status(job_id)
    assert status.state == "succeeded" and status.exit_code == 0
    assert {("pending", "queued"), ("pending", "pending")} <= seen, seen
    logs = list(orch.logs(job_id))
    assert logs[0].startswith("[vertex] JOB_STATE_SUCCEEDED")
    assert f"token tok {job_id.rsplit('/', 1)[-1]}" in logs
    assert not any(SECRET_ENV["KITARU_AUTH_TOKEN"] in line for line in logs)
    assert SECRET_ENV["KITARU_AUTH_TOKEN"] not in repr(py("pass", **SECRET_ENV))


def test_non_zero_exit_is_failed_with_vertex_message_and_exit_code(orchestrator: Any) -> None:
    job_id = orchestrator.submit(py("import sys; sys.exit(7)"))
    status = orchestrator.wait(job_id, timeout=30, poll=0.05)
    assert status.state == "failed" and status.exit_code == 7
    assert "exited with a non-zero status of 7" in status.message


def test_failure_before_start_is_failed_with_the_backend_reason(vertex: FakeVertex) -> None:
    reason = "Unable to pull image us-docker.pkg.dev/x/missing:1: manifest unknown"
    vertex.fail_before_start("*/missing:*", reason)
    orch = vertex.orchestrator(image="us-docker.pkg.dev/x/missing:1")
    job_id = orch.submit(py("print('never')"))
    status = orch.wait(job_id, timeout=30, poll=0.05)
    assert status.state == "failed" and reason in status.message and status.message.startswith("FAILED")
    logs = "\n".join(orch.logs(job_id))
    assert reason in logs and "never" not in logs
    assert vertex.process(job_id) is None
    orch.cancel(job_id)  # finished: a no-op, not an error


def test_cancel_kills_the_process_and_ends_cancelled(vertex: FakeVertex, orchestrator: Any) -> None:
    job_id = orchestrator.submit(py("import time; print('up', flush=True); time.sleep(300)"))
    eventually(lambda: orchestrator.status(job_id).state == "running", what="running")
    proc = eventually(lambda: vertex.process(job_id), what="process")
    orchestrator.cancel(job_id)
    assert vertex.job(job_id)["state"] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")
    eventually(lambda: proc.poll() is not None, timeout=15, what="process killed")
    status = eventually(lambda: (s := orchestrator.status(job_id)).done and s, what="cancelled")
    assert status.state == "cancelled" and "not by Kitaru" not in status.message
    assert ("POST", f"/v1/{job_id}:cancel", {}) in vertex.requests


def test_cancelled_by_someone_else_and_deleted_and_expired_jobs(vertex: FakeVertex, orchestrator: Any) -> None:
    job_id = orchestrator.submit(py("import time; time.sleep(300)"))
    eventually(lambda: vertex.process(job_id), what="process")
    vertex.cancel(job_id)  # from the console
    status = eventually(lambda: (s := orchestrator.status(job_id)).done and s, what="cancelled")
    assert status.state == "cancelled" and "not by Kitaru" in status.message
    vertex.delete(job_id)
    status = orchestrator.status(job_id)
    assert status.state == "failed" and "no longer exists" in status.message
    assert "no longer exists" in "\n".join(orchestrator.logs(job_id))
    other = orchestrator.submit(py("pass"))
    orchestrator.wait(other, timeout=30, poll=0.05)
    vertex.set_state(other, "JOB_STATE_EXPIRED")
    assert orchestrator.status(other).state == "failed" and "EXPIRED" in orchestrator.status(other).message


def test_scheduling_timeout_kills_the_job(vertex: FakeVertex) -> None:
    orch = vertex.orchestrator(image=IMAGE, timeout_seconds=1)
    job_id = orch.submit(py("import time; time.sleep(60)"))
    status = orch.wait(job_id, timeout=30, poll=0.05)
    assert status.state == "failed" and "timeout" in status.message


def test_bad_input_creates_nothing(vertex: FakeVertex) -> None:
    with pytest.raises(KitaruUsageError, match="image"):
        vertex.orchestrator().submit(py("pass"))
    with pytest.raises(KitaruUsageError, match="environment variable"):
        vertex.orchestrator(image=IMAGE).submit(py("pass", **{"BAD NAME": "1"}))
    assert vertex.created == [] and vertex.jobs() == []


def test_unknown_or_foreign_job_ids_are_refused(orchestrator: Any) -> None:
    for job_id in ("no-such-job", "projects/p/locations/europe-west4/customJobs/1",
                   "projects/p/locations/us-central1/customJobs/../../x", "projects/p/locations/us-central1/models/1"):
        with pytest.raises(VertexJobNotFoundError):
            orchestrator.status(job_id)
        with pytest.raises(KitaruError):
            orchestrator.cancel(job_id)


def test_fake_rejects_what_vertex_rejects(vertex: FakeVertex) -> None:
    import requests

    url = f"{vertex.url}/v1/projects/{vertex.project}/locations/{vertex.region}/customJobs"
    auth = {"Authorization": f"Bearer {vertex.admin_token}"}
    pool = {"machineSpec": {"machineType": "n1-standard-4"}, "replicaCount": 1, "containerSpec": {"imageUri": "i"}}
    for body, message in (
            ({"displayName": "x", "jobSpec": {"workerPoolSpecs": [{**pool, "containerSpecc": {}}]}}, "containerSpecc"),
            ({"displayName": "x", "state": "JOB_STATE_RUNNING", "jobSpec": {"workerPoolSpecs": [pool]}}, "output only"),
            ({"jobSpec": {"workerPoolSpecs": [pool]}}, "display_name"),
            ({"displayName": "x", "jobSpec": {"workerPoolSpecs": []}}, "worker_pool_specs")):
        resp = requests.post(url, json=body, headers=auth, timeout=10)
        assert resp.status_code == 400 and message in resp.json()["error"]["message"], resp.text
    assert requests.post(url, json={}, timeout=10).status_code == 401
    assert vertex.jobs() == []


def test_unreachable_endpoint_is_a_clear_error_quickly() -> None:
    import socket
    import time

    from kitaru_vertex import VertexOrchestratorConfig, VertexUnreachableError
    from kitaru_vertex._orchestrator import VertexOrchestrator

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    orch = VertexOrchestrator(VertexOrchestratorConfig(project="kitaru-test", region="us-central1", image=IMAGE,
                                                       api_endpoint=f"http://127.0.0.1:{port}", access_token="t",
                                                       request_timeout=2))
    started = time.monotonic()
    with pytest.raises(VertexUnreachableError, match="api_endpoint"):
        orch.submit(py("pass"))
    with pytest.raises(VertexError):
        orch.status("projects/kitaru-test/locations/us-central1/customJobs/1")
    assert time.monotonic() - started < 15
