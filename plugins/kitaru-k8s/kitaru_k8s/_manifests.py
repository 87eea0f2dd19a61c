"""The objects the plugin creates, built with the official client models: Job, env Secret, pull Secret, RBAC."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.plugins import JobSpec, RegistryCredentials

from kitaru_k8s._config import KubernetesOrchestratorConfig
from kitaru_k8s._models import to_model

MANAGED_BY = {"app.kubernetes.io/managed-by": "kitaru"}
EXEC_LABEL = "kitaru.dev/execution"
EXEC_ANNOTATION = "kitaru.dev/execution-id"
CHECKPOINT_LABEL = "kitaru.dev/checkpoint"
CANCEL_ANNOTATION = "kitaru.dev/cancelled"
CONTAINER = "runtime"
JOB_NAME = re.compile(r"^kitaru-[a-z0-9-]{1,40}-[0-9a-f]{8}$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def job_name(exec_id: str) -> str:
    """`kitaru-<exec id slug>-<8 hex>`: a valid DNS label, unique per submit."""
    slug = re.sub(r"[^a-z0-9-]+", "-", exec_id.lower()).strip("-")[:40].strip("-") or "job"
    return f"kitaru-{slug}-{uuid.uuid4().hex[:8]}"


def _label_value(value: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)


def build_job(job: JobSpec, name: str, config: KubernetesOrchestratorConfig, *, env_secret: str,
              pull_secret: str | None = None) -> Any:
    """The `batch/v1` Job running `job.command`; JobSpec.env arrives only through `env_secret` (envFrom)."""
    from kubernetes import client

    image = job.image or config.image
    if not image:
        raise KitaruUsageError("no image for the Kubernetes job: set the stack's orchestrator `image` or build one"
                               " with `kitaru build`")
    if not job.command:
        raise KitaruUsageError("the job has no command")
    bad = [k for k in job.env if not _ENV_NAME.match(k)]
    if bad:
        raise KitaruUsageError(f"{bad[0]!r} is not a valid environment variable name for a Kubernetes pod")
    ps = config.pod_settings
    labels = {**ps.labels, **MANAGED_BY, EXEC_LABEL: _label_value(job.exec_id)}
    if job.checkpoint:  # one isolated checkpoint call of the execution, not its runner
        labels[CHECKPOINT_LABEL] = _label_value(job.checkpoint) or "checkpoint"
    annotations = {**ps.annotations, EXEC_ANNOTATION: job.exec_id}
    container = client.V1Container(
        name=CONTAINER, image=image, image_pull_policy=config.image_pull_policy, command=list(job.command),
        env=[client.V1EnvVar(name=k, value=v) for k, v in sorted(ps.env.items())] or None,
        env_from=[client.V1EnvFromSource(secret_ref=client.V1SecretEnvSource(name=env_secret))],
        resources=to_model(ps.resources, "V1ResourceRequirements") if ps.resources else None,
        volume_mounts=to_model(ps.volume_mounts, "list[V1VolumeMount]") or None,
    )
    pull = [*config.image_pull_secrets, *([pull_secret] if pull_secret else [])]
    pod = client.V1PodSpec(
        restart_policy="Never", containers=[container],
        service_account_name=config.service_account,
        automount_service_account_token=bool(config.service_account),
        node_selector=dict(ps.node_selector) or None,
        tolerations=to_model(ps.tolerations, "list[V1Toleration]") or None,
        affinity=to_model(ps.affinity, "V1Affinity") if ps.affinity else None,
        volumes=to_model(ps.volumes, "list[V1Volume]") or None,
        image_pull_secrets=[client.V1LocalObjectReference(name=n) for n in pull] or None,
    )
    return client.V1Job(
        api_version="batch/v1", kind="Job",
        metadata=client.V1ObjectMeta(name=name, namespace=config.namespace, labels=labels, annotations=annotations),
        spec=client.V1JobSpec(
            backoff_limit=0, active_deadline_seconds=config.active_deadline_seconds,
            ttl_seconds_after_finished=config.ttl_seconds_after_finished,
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels, annotations=annotations),
                                              spec=pod),
        ),
    )


def owner_reference(job: Any) -> Any:
    """An ownerReference to the created Job: the garbage collector deletes the Secret with it."""
    from kubernetes import client

    return client.V1OwnerReference(api_version="batch/v1", kind="Job", name=job.metadata.name, uid=job.metadata.uid,
                                   controller=True)


def _secret(name: str, namespace: str, data: dict[str, str], owner: Any, labels: dict[str, str],
            type_: str = "Opaque") -> Any:
    from kubernetes import client

    return client.V1Secret(
        api_version="v1", kind="Secret", type=type_, immutable=True,
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels=labels,
                                     owner_references=[owner] if owner is not None else None),
        data={k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    )


def build_env_secret(name: str, namespace: str, env: dict[str, str], owner: Any, exec_id: str) -> Any:
    """The Secret holding every JobSpec.env entry (execution token, server URL, ...), owned by the Job."""
    return _secret(name, namespace, env, owner, {**MANAGED_BY, EXEC_LABEL: _label_value(exec_id)})


def build_pull_secret(name: str, namespace: str, creds: RegistryCredentials, owner: Any, exec_id: str) -> Any:
    """A `kubernetes.io/dockerconfigjson` Secret from registry credentials, owned by the Job."""
    auth = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    config = {"auths": {creds.registry: {"username": creds.username, "password": creds.password, "auth": auth}}}
    return _secret(name, namespace, {".dockerconfigjson": json.dumps(config)}, owner,
                   {**MANAGED_BY, EXEC_LABEL: _label_value(exec_id)}, "kubernetes.io/dockerconfigjson")


DISPATCH_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "delete"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
]


def dispatch_rbac(namespace: str, service_account: str = "kitaru-dispatch") -> list[dict[str, Any]]:
    """ServiceAccount + Role + RoleBinding for dispatch tokens: exactly what submit/status/logs/cancel use.

    Jobs: create/get/delete; Secrets: create (the env Secret, owned by its Job); pods: get/list/watch
    (find the Job's pod by label); pods/log: get; events: list (why a pod has not started).
    """
    meta = {"namespace": namespace, "labels": dict(MANAGED_BY)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": service_account, **meta},
         "automountServiceAccountToken": False},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": service_account, **meta},
         "rules": [dict(r) for r in DISPATCH_RULES]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": service_account, **meta},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": service_account},
         "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}]},
    ]


def dispatch_role(namespace: str, service_account: str = "kitaru-dispatch") -> dict[str, Any]:
    """Just the Role of `dispatch_rbac`."""
    return dispatch_rbac(namespace, service_account)[1]
