"""Jobs on the fake cluster: real processes, env through the owned Secret, cancel, infrastructure failures."""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

import kubernetes_validate

from kitaru.plugins import JobSpec
from kitaru_k8s.testing import FakeCluster

from k8s_helpers import IMAGE, eventually

SECRET_ENV = {"KITARU_AUTH_TOKEN": "tok-s3cr3t-value", "KITARU_SERVER_URL": "http://127.0.0.1:1"}


def py(code: str, **env: str) -> JobSpec:
    return JobSpec(exec_id="exec-1", command=[sys.executable, "-c", code], env=env)


def names(job_id: str) -> tuple[str, str]:
    ns, _, name = job_id.partition("/")
    return ns, name


def test_job_runs_real_command_with_env_only_from_owned_secret(cluster: FakeCluster, orchestrator: Any) -> None:
    code = "import os; print('token', os.environ['KITARU_AUTH_TOKEN'], os.environ['MODE'])"
    orchestrator.config.pod_settings.env["MODE"] = "plain"
    job_id = orchestrator.submit(py(code, **SECRET_ENV))
    ns, name = names(job_id)
    status = orchestrator.wait(job_id, timeout=30)
    assert status.state == "succeeded" and status.exit_code == 0, status
    assert "token tok-s3cr3t-value plain" in list(orchestrator.logs(job_id))
    job, secret = cluster.get("Job", ns, name), cluster.get("Secret", ns, f"{name}-env")
    assert job is not None and secret is not None
    assert "tok-s3cr3t-value" not in json.dumps(job)  # never a literal in the Job / pod spec
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": f"{name}-env"}}]
    assert container["env"] == [{"name": "MODE", "value": "plain"}]
    assert base64.b64decode(secret["data"]["KITARU_AUTH_TOKEN"]).decode() == "tok-s3cr3t-value"
    assert secret["metadata"]["ownerReferences"][0] == {
        "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job["metadata"]["uid"], "controller": True}
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    for obj in cluster.created:  # the fake rejects invalid objects too; check again explicitly
        kubernetes_validate.validate(obj, "1.31", strict=True)


def test_every_pod_setting_reaches_the_job_and_a_secret_volume_becomes_files(cluster: FakeCluster) -> None:
    from kubernetes import client

    admin = client.CoreV1Api(cluster.orchestrator("team-a").connection.api())
    admin.create_namespaced_secret("team-a", client.V1Secret(
        api_version="v1", kind="Secret", metadata=client.V1ObjectMeta(name="model-key"),
        data={"key.txt": base64.b64encode(b"file-secret").decode()}))
    orch = cluster.orchestrator(
        "team-a", image="registry.example.com/agents:abc", image_pull_policy="Always", service_account="runner",
        image_pull_secrets=["regcred"], active_deadline_seconds=600, ttl_seconds_after_finished=120,
        pod_settings={
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
            "node_selector": {"pool": "agents"},
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "agents", "effect": "NoSchedule"}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
            "labels": {"team": "a"}, "annotations": {"owner": "ml"},
            "volumes": [{"name": "key", "secret": {"secretName": "model-key"}}, {"name": "scratch", "emptyDir": {}}],
            "volume_mounts": [{"name": "key", "mountPath": "/etc/model", "readOnly": True},
                              {"name": "scratch", "mountPath": "/scratch"}],
        })
    code = "import sys; print(open(sys.argv[1]).read())"
    read = JobSpec("exec-1", [sys.executable, "-c", code, "/etc/model/key.txt"])
    job_id = orch.submit(read)
    assert orch.wait(job_id, timeout=30).state == "succeeded"
    assert "file-secret" in list(orch.logs(job_id))
    job = cluster.get("Job", *names(job_id))
    assert job is not None
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert (spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (600, 120)
    assert (c["image"], c["imagePullPolicy"]) == ("registry.example.com/agents:abc", "Always")
    assert c["resources"]["limits"] == {"memory": "1Gi"} and pod["nodeSelector"] == {"pool": "agents"}
    assert pod["tolerations"][0]["key"] == "dedicated" and "nodeAffinity" in pod["affinity"]
    assert pod["serviceAccountName"] == "runner" and pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert job["metadata"]["labels"]["team"] == "a"
    assert job["spec"]["template"]["metadata"]["annotations"]["owner"] == "ml"
    assert {v["name"] for v in pod["volumes"]} == {"key", "scratch"}


def test_registry_credentials_become_an_owned_pull_secret(cluster: FakeCluster) -> None:
    from kitaru.plugins import RegistryCredentials

    orch = cluster.orchestrator("team-a", image="registry.example.com/agents:1")
    orch.registry_credentials = lambda: RegistryCredentials("registry.example.com", "robot", "pw-123")
    job_id = orch.submit(py("pass"))
    ns, name = names(job_id)
    pull = cluster.get("Secret", ns, f"{name}-pull")
    assert pull is not None and pull["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(base64.b64decode(pull["data"][".dockerconfigjson"]))["auths"]
    assert auths["registry.example.com"]["username"] == "robot"
    job = cluster.get("Job", ns, name)
    assert job is not None and job["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": f"{name}-pull"}]
    assert pull["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]


def test_cancel_kills_the_process_and_deletes_job_and_secret(cluster: FakeCluster, orchestrator: Any) -> None:
    job_id = orchestrator.submit(py("import time; print('up', flush=True); time.sleep(300)", **SECRET_ENV))
    ns, name = names(job_id)
    eventually(lambda: orchestrator.status(job_id).state == "running", what="running")
    proc = eventually(lambda: cluster.process(job_id), what="process started")
    assert proc.poll() is None
    orchestrator.cancel(job_id)
    eventually(lambda: proc.poll() is not None, timeout=15, what="process killed")
    eventually(lambda: cluster.get("Job", ns, name) is None, what="Job deleted")
    assert cluster.get("Secret", ns, f"{name}-env") is None
    assert [p for p in cluster.list("Pod", ns) if p["metadata"]["labels"]["job-name"] == name] == []
    assert orchestrator.status(job_id).state == "cancelled"


def test_image_pull_failure_fails_with_the_reason_and_logs_say_why(cluster: FakeCluster) -> None:
    cluster.fail_image_pull("registry.example.com/missing:*")
    orch = cluster.orchestrator("team-a", image="registry.example.com/missing:v1")
    job_id = orch.submit(py("print('never')"))
    status = eventually(lambda: (s := orch.status(job_id)).done and s, what="failed status")
    assert status.state == "failed" and status.message.startswith("ImagePullBackOff"), status
    logs = "\n".join(orch.logs(job_id))
    assert "ImagePullBackOff" in logs and "Failed to pull image" in logs and "never" not in logs
    orch.cancel(job_id)  # still active in Kubernetes' view: cancel removes it and its Secret
    ns, name = names(job_id)
    eventually(lambda: cluster.get("Job", ns, name) is None and cluster.get("Secret", ns, f"{name}-env") is None,
               what="cleanup after a failed pull")


def test_oom_eviction_and_deadline_carry_the_kubernetes_reason(cluster: FakeCluster) -> None:
    cluster.oom_kill("hungry:*", after=0.1)
    slow = "import time; print('started', flush=True); time.sleep(60)"
    oom = cluster.orchestrator("team-a", image="hungry:1")
    job_id = oom.submit(py(slow))
    status = oom.wait(job_id, timeout=30)
    assert status.state == "failed" and "OOMKilled" in status.message and status.exit_code == 137, status

    orch = cluster.orchestrator("team-a", image=IMAGE)
    evicted = orch.submit(py(slow))
    eventually(lambda: cluster.process(evicted), what="process started")
    cluster.evict(evicted)
    status = orch.wait(evicted, timeout=30)
    assert status.state == "failed" and "Evicted" in status.message, status

    deadline = cluster.orchestrator("team-a", image=IMAGE, active_deadline_seconds=1)
    job_id = deadline.submit(py(slow))
    status = deadline.wait(job_id, timeout=30)
    assert status.state == "failed" and status.message.startswith("DeadlineExceeded"), status


def test_vanished_job_is_failed_with_a_message(cluster: FakeCluster, orchestrator: Any) -> None:
    from kubernetes import client

    job_id = orchestrator.submit(py("import time; time.sleep(60)"))
    ns, name = names(job_id)
    client.BatchV1Api(orchestrator.connection.api()).delete_namespaced_job(name, ns, propagation_policy="Background")
    status = eventually(lambda: (s := orchestrator.status(job_id)).done and s, what="vanished")
    assert status.state == "failed" and "was deleted" in status.message
    assert any("was deleted" in line for line in orchestrator.logs(job_id))


def test_slow_scheduling_is_pending_with_the_reason_then_runs(cluster: FakeCluster, orchestrator: Any) -> None:
    cluster.schedule_delay = 600.0  # no capacity until the test frees it, however slow this machine is
    job_id = orchestrator.submit(py("print('ran')"))
    status = eventually(lambda: (s := orchestrator.status(job_id)).message.startswith("Unschedulable") and s,
                        what="unschedulable")
    assert status.state == "pending"
    assert any("Unschedulable" in line for line in orchestrator.logs(job_id))
    cluster.schedule_delay = 0.0
    assert orchestrator.wait(job_id, timeout=30).state == "succeeded"


def test_ttl_after_finished_removes_job_and_secret(cluster: FakeCluster) -> None:
    orch = cluster.orchestrator("team-a", image=IMAGE, ttl_seconds_after_finished=0)
    job_id = orch.submit(py("pass", A="1"))
    ns, name = names(job_id)
    eventually(lambda: cluster.get("Job", ns, name) is None, what="TTL cleanup")
    eventually(lambda: cluster.get("Secret", ns, f"{name}-env") is None, what="garbage collection of the Secret")
    assert orch.status(job_id).state == "failed"  # gone: the orchestrator cannot know the outcome any more
