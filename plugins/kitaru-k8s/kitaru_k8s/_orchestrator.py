"""The `kubernetes` orchestrator: one batch/v1 Job per JobSpec, env delivered through a Secret the Job owns."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from kitaru.plugins import CredentialBroker, Credentials, JobSpec, JobStatus, RegistryCredentials
from kitaru_k8s import _manifests as m
from kitaru_k8s._config import KubernetesOrchestratorConfig
from kitaru_k8s._connection import Connection, dispatch_credentials
from kitaru_k8s._errors import KubernetesError, KubernetesJobNotFoundError, translate_errors
from kitaru_k8s._status import gone_status, job_status, pending_reason

MIN_TOKEN_TTL = 600  # the API server refuses TokenRequests shorter than 10 minutes
MAX_TOKEN_TTL = 3600
_cancelled: set[str] = set()
_cancelled_lock = threading.Lock()


class KubernetesOrchestrator:
    """submit / status / cancel / logs against a Kubernetes namespace; `mint_dispatch_credentials` for the server."""

    flavor = "kubernetes"
    remote = True

    def __init__(self, config: KubernetesOrchestratorConfig, *, broker: CredentialBroker | None = None,
                 registry_credentials: Callable[[], RegistryCredentials | None] | None = None) -> None:
        self.config = config
        self.namespace = config.namespace
        self.connection = Connection(config, broker)
        self.registry_credentials = registry_credentials

    # -- API helpers -------------------------------------------------------------------------------------------
    def _batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self.connection.api())

    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.connection.api())

    def _errors(self, action: str) -> Any:
        return translate_errors(action, self.namespace, self.connection.host)

    def _name(self, job_id: str) -> str:
        namespace, _, name = job_id.rpartition("/")
        if namespace != self.namespace or not m.JOB_NAME.match(name):
            raise KubernetesJobNotFoundError(
                f"{job_id!r} is not a Kubernetes job of this orchestrator (namespace {self.namespace!r});"
                " job ids look like NAMESPACE/kitaru-EXEC-xxxxxxxx")
        return name

    @property
    def _timeout(self) -> float:
        return self.config.request_timeout

    # -- Orchestrator protocol ---------------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> str:
        """Create the Job, then its env Secret (and pull Secret) owned by it; on failure delete the Job again."""
        name = m.job_name(job.exec_id)
        creds = self.registry_credentials() if self.registry_credentials else None
        env_secret, pull_secret = f"{name}-env", (f"{name}-pull" if creds else None)
        manifest = m.build_job(job, name, self.config, env_secret=env_secret, pull_secret=pull_secret)
        with self._errors(f"create Job {name}"):
            created = self._batch().create_namespaced_job(self.namespace, manifest, _request_timeout=self._timeout)
        try:
            owner = m.owner_reference(created)
            secrets = [m.build_env_secret(env_secret, self.namespace, dict(job.env), owner, job.exec_id)]
            if creds is not None and pull_secret:
                secrets.append(m.build_pull_secret(pull_secret, self.namespace, creds, owner, job.exec_id))
            for secret in secrets:
                with self._errors(f"create Secret {secret.metadata.name}"):
                    self._core().create_namespaced_secret(self.namespace, secret, _request_timeout=self._timeout)
        except BaseException as exc:
            self._delete_after_failure(name, exc)
            raise
        return f"{self.namespace}/{name}"

    def _delete_after_failure(self, name: str, exc: BaseException) -> None:
        """Remove a Job whose Secret could not be created (the garbage collector takes any Secret it owns)."""
        try:
            with self._errors(f"delete Job {name}"):
                self._batch().delete_namespaced_job(name, self.namespace, propagation_policy="Background",
                                                    _request_timeout=self._timeout)
        except KubernetesError as cleanup:
            if cleanup.status != 404:
                exc.add_note(f"the Job {self.namespace}/{name} could not be deleted and may be left behind:"
                             f" {cleanup}; delete it with `kubectl delete job -n {self.namespace} {name}`")

    def status(self, job_id: str) -> JobStatus:
        """From the Job's conditions and its pod; a Job that no longer exists is reported as deleted."""
        name = self._name(job_id)
        job = self._read_job(name)
        if job is None:
            return gone_status(name, job_id in _cancelled)
        return job_status(job, self._pods(name), cancelled=job_id in _cancelled)

    def cancel(self, job_id: str) -> None:
        """Delete the Job with foreground propagation (its pod is killed first); a finished Job is left alone.

        "Finished" is Kubernetes' view (a Complete/Failed condition): a Job reported `failed` because its pod
        can never start (ImagePullBackOff) is still active there, and cancel removes it with its Secret.
        """
        name = self._name(job_id)
        job = self._read_job(name)
        if job is None or _finished(job):
            return
        with _cancelled_lock:
            _cancelled.add(job_id)
        try:
            with self._errors(f"delete Job {name}"):
                self._batch().delete_namespaced_job(name, self.namespace, propagation_policy="Foreground",
                                                    _request_timeout=self._timeout)
        except KubernetesError as exc:
            if exc.status != 404:
                with _cancelled_lock:
                    _cancelled.discard(job_id)
                raise

    def logs(self, job_id: str) -> Iterator[str]:
        """The pod's log lines; before its container starts, why it waits (scheduling, image pull, events)."""
        name = self._name(job_id)
        if self._read_job(name) is None:
            yield f"[kubernetes] {gone_status(name, job_id in _cancelled).message}"
            return
        pods = sorted(self._pods(name), key=lambda p: (str(p.metadata.creation_timestamp or ""), p.metadata.name))
        if not pods:
            yield f"[kubernetes] Job {name}: no pod yet (waiting for the Job controller)"
        for pod in pods:
            if _started(pod):
                with self._errors(f"read the log of pod {pod.metadata.name}"):
                    resp = self._core().read_namespaced_pod_log(
                        pod.metadata.name, self.namespace, container=m.CONTAINER, _preload_content=False,
                        _request_timeout=self._timeout)
                yield from resp.data.decode("utf-8", "replace").splitlines()  # raw bytes: the client's str() is lossy
            else:
                yield f"[kubernetes] pod {pod.metadata.name}: {pending_reason(pod)}"
                yield from self._events(pod.metadata.name)

    # -- extras --------------------------------------------------------------------------------------------------
    def wait(self, job_id: str, timeout: float = 600.0) -> JobStatus:
        """Block until the job is done (watching its pods), at most `timeout` seconds; returns the last status."""
        from kubernetes import watch

        name, deadline = self._name(job_id), time.monotonic() + timeout
        status = self.status(job_id)
        while not status.done and time.monotonic() < deadline:
            left = max(1, int(min(deadline - time.monotonic(), 30)))
            with self._errors(f"watch the pods of Job {name}"):
                for _ in watch.Watch().stream(self._core().list_namespaced_pod, self.namespace,
                                              label_selector=f"job-name={name}", timeout_seconds=left,
                                              _request_timeout=left + 5):
                    status = self.status(job_id)
                    if status.done:
                        return status
            status = self.status(job_id)
        return status

    def mint_dispatch_credentials(self, ttl: int = 900) -> Credentials:
        """A TokenRequest token of `dispatch_service_account` (RBAC: `dispatch_rbac`), valid `ttl` seconds.

        The server calls this with its own identity and hands the result to a client, which then submits
        with `host`/`token` from `values` (a `ComponentContext.broker` returning these credentials).
        The API server's minimum lifetime is 600 s; `ttl` is clamped to 600..3600.
        """
        from kubernetes import client

        ttl = min(max(int(ttl), MIN_TOKEN_TTL), MAX_TOKEN_TTL)
        account = self.config.dispatch_service_account
        body = client.AuthenticationV1TokenRequest(
            api_version="authentication.k8s.io/v1", kind="TokenRequest",
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=ttl))
        with self._errors(f"create a token for service account {account}"):
            out = self._core().create_namespaced_service_account_token(account, self.namespace, body,
                                                                       _request_timeout=self._timeout)
        expires = out.status.expiration_timestamp or datetime.now(timezone.utc) + timedelta(seconds=ttl)
        return dispatch_credentials(self.connection.connection_values(), self.namespace, out.status.token, expires)

    def mint_credentials(self, scope: str = "", *, access: str = "write", ttl: int = 900) -> Credentials:
        """Same as `mint_dispatch_credentials` (the artifact-store-shaped name the server's broker calls)."""
        return self.mint_dispatch_credentials(ttl)

    def _read_job(self, name: str) -> Any:
        from kubernetes.client.exceptions import ApiException

        with self._errors(f"read Job {name}"):
            try:
                return self._batch().read_namespaced_job(name, self.namespace, _request_timeout=self._timeout)
            except ApiException as exc:
                if exc.status == 404 and _is_job_not_found(exc):
                    return None
                raise

    def _pods(self, name: str) -> list[Any]:
        with self._errors(f"list the pods of Job {name}"):
            return list(self._core().list_namespaced_pod(self.namespace, label_selector=f"job-name={name}",
                                                         _request_timeout=self._timeout).items)

    def _events(self, pod: str) -> Iterator[str]:
        try:
            with self._errors(f"list the events of pod {pod}"):
                events = self._core().list_namespaced_event(
                    self.namespace, field_selector=f"involvedObject.name={pod}", _request_timeout=self._timeout).items
        except KubernetesError:
            return  # events are a courtesy: a token without `list events` still gets the pod's state
        for ev in events:
            yield f"[kubernetes] {ev.type or 'Normal'} {ev.reason or ''}: {ev.message or ''}"


def _finished(job: Any) -> bool:
    conditions = (job.status.conditions or []) if job.status else []
    return any(c.type in ("Complete", "Failed") and c.status == "True" for c in conditions)


def _started(pod: Any) -> bool:
    for cs in (pod.status.container_statuses or []) if pod.status else []:
        if cs.state and (cs.state.running or cs.state.terminated):
            return True
    return False


def _is_job_not_found(exc: Any) -> bool:
    from kitaru_k8s._errors import status_of

    details = status_of(exc).get("details") or {}
    return bool(details.get("kind", "jobs") == "jobs")
