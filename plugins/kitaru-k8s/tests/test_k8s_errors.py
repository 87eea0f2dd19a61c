"""Bad input and hostile conditions: clear errors, and nothing left half-made on the cluster."""

from __future__ import annotations

import socket
import sys
import time
from typing import Any

import pytest
from pydantic import ValidationError

from kitaru.errors import KitaruError, KitaruUsageError
from kitaru.plugins import JobSpec
from kitaru_k8s import (
    KubernetesForbiddenError,
    KubernetesJobNotFoundError,
    KubernetesNamespaceNotFoundError,
    KubernetesOrchestratorConfig,
    KubernetesUnreachableError,
)
from kitaru_k8s._orchestrator import KubernetesOrchestrator
from kitaru_k8s.testing import FakeCluster

from k8s_helpers import IMAGE, eventually

JOB = JobSpec(exec_id="exec-1", command=[sys.executable, "-c", "pass"], env={"KITARU_AUTH_TOKEN": "t"})


def nothing_left(cluster: FakeCluster, ns: str) -> bool:
    return not cluster.list("Job", ns) and not cluster.list("Secret", ns) and not cluster.list("Pod", ns)


def test_missing_namespace_is_a_usage_error(cluster: FakeCluster) -> None:
    orch = cluster.orchestrator("no-such-ns", image=IMAGE)
    with pytest.raises(KubernetesNamespaceNotFoundError, match="kubectl create namespace no-such-ns"):
        orch.submit(JOB)
    with pytest.raises(ValidationError, match="namespace"):
        KubernetesOrchestratorConfig.model_validate({"host": cluster.url})
    with pytest.raises(ValidationError, match="DNS label"):
        KubernetesOrchestratorConfig.model_validate({"namespace": "Team_A"})


def test_dispatch_token_of_another_namespace_is_forbidden(cluster: FakeCluster) -> None:
    creds = cluster.orchestrator("team-a").mint_dispatch_credentials()
    other = KubernetesOrchestrator(KubernetesOrchestratorConfig(
        namespace="default", host=creds.values["host"], token=creds.values["token"], image=IMAGE))
    with pytest.raises(KubernetesForbiddenError, match="dispatch_role") as err:
        other.submit(JOB)
    assert err.value.status == 403 and "cannot create resource \"jobs\"" in str(err.value)
    assert nothing_left(cluster, "default")


def test_role_without_secret_create_leaves_no_job_behind(cluster: FakeCluster) -> None:
    cluster.add_service_account("team-a", "jobs-only", [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "delete"]}])
    admin = cluster.orchestrator("team-a", dispatch_service_account="jobs-only")
    creds = admin.mint_dispatch_credentials()
    orch = KubernetesOrchestrator(KubernetesOrchestratorConfig(
        namespace="team-a", host=cluster.url, token=creds.values["token"], image=IMAGE))
    with pytest.raises(KubernetesForbiddenError, match="Secret"):
        orch.submit(JOB)
    assert len([o for o in cluster.created if o["kind"] == "Job"]) == 1  # the Job was created ...
    eventually(lambda: nothing_left(cluster, "team-a"), what="cleanup")  # ... and removed again


def test_unreachable_api_server_is_a_clear_error_quickly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    orch = KubernetesOrchestrator(KubernetesOrchestratorConfig(
        namespace="default", host=f"http://127.0.0.1:{port}", token="x", image=IMAGE, request_timeout=2))
    started = time.monotonic()
    with pytest.raises(KubernetesUnreachableError, match="kubectl cluster-info"):
        orch.submit(JOB)
    with pytest.raises(KubernetesUnreachableError):
        orch.status(f"default/kitaru-exec-1-{'0' * 8}")
    assert time.monotonic() - started < 10


def test_expired_or_unknown_token_is_refused(cluster: FakeCluster) -> None:
    orch = KubernetesOrchestrator(KubernetesOrchestratorConfig(
        namespace="team-a", host=cluster.url, token="not-a-token", image=IMAGE))
    with pytest.raises(KubernetesForbiddenError, match="expired") as err:
        orch.submit(JOB)
    assert err.value.status == 401 and nothing_left(cluster, "team-a")


def test_unknown_or_foreign_job_ids_are_refused(orchestrator: Any) -> None:
    for job_id in ("no-such-job", "default/kitaru-exec-1-00000000", "team-a/../secrets", "team-a/kube-proxy"):
        with pytest.raises(KubernetesJobNotFoundError):
            orchestrator.status(job_id)
        with pytest.raises(KitaruError):
            orchestrator.cancel(job_id)


def test_job_without_image_or_with_bad_env_creates_nothing(cluster: FakeCluster) -> None:
    orch = cluster.orchestrator("team-a")
    with pytest.raises(KitaruUsageError, match="image"):
        orch.submit(JOB)
    with pytest.raises(KitaruUsageError, match="environment variable"):
        cluster.orchestrator("team-a", image=IMAGE).submit(JobSpec("e", ["true"], env={"BAD NAME": "1"}))
    assert cluster.created == [] and nothing_left(cluster, "team-a")


@pytest.mark.parametrize(("pod_settings", "field", "message"), [
    ({"tolerations": [{"key": "a", "tolerationSecond": 5}]}, "tolerations", "tolerationSecond"),
    ({"resources": {"limit": {"cpu": "1"}}}, "resources", "limit"),
    ({"volume_mounts": [{"name": "v", "mountPath": "/x"}]}, "pod_settings", "not one of the volumes"),
    ({"env": {"1X": "y"}}, "env", "not a valid environment variable"),
    ({"nodeSelector": {"a": "b"}}, "nodeSelector", "Extra inputs"),
])
def test_pod_settings_errors_name_the_field(pod_settings: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        KubernetesOrchestratorConfig.model_validate({"namespace": "a", "pod_settings": pod_settings})
    text = str(err.value)
    assert field in text and message in text, text


def test_fake_rejects_an_invalid_manifest_like_a_strict_api_server(cluster: FakeCluster) -> None:
    from kubernetes import client

    api = client.ApiClient(cluster.orchestrator("team-a").connection.api().configuration)
    bad = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "typo"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x", "imagee": "typo"}]}}}}
    with pytest.raises(client.ApiException) as err:
        client.BatchV1Api(api).create_namespaced_job("team-a", bad)
    assert err.value.status == 422 and "imagee" in err.value.body
    assert cluster.list("Job", "team-a") == []


def test_kubeconfig_context_is_used(cluster: FakeCluster, tmp_path: Any) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(f"""
apiVersion: v1
kind: Config
current-context: elsewhere
clusters:
- {{name: fake, cluster: {{server: "{cluster.url}"}}}}
- {{name: nowhere, cluster: {{server: "http://127.0.0.1:9"}}}}
users:
- {{name: admin, user: {{token: "{cluster.admin_token}"}}}}
contexts:
- {{name: fake-ctx, context: {{cluster: fake, user: admin, namespace: team-a}}}}
- {{name: elsewhere, context: {{cluster: nowhere, user: admin}}}}
""")
    orch = KubernetesOrchestrator(KubernetesOrchestratorConfig(
        namespace="team-a", kubeconfig=str(kubeconfig), context="fake-ctx", image=IMAGE))
    job_id = orch.submit(JOB)
    assert orch.wait(job_id, timeout=30).state == "succeeded"
    with pytest.raises(KitaruUsageError, match="kubeconfig"):
        KubernetesOrchestrator(KubernetesOrchestratorConfig(
            namespace="team-a", kubeconfig=str(kubeconfig), context="missing", image=IMAGE)).submit(JOB)
