"""A loopback fake Kubernetes API server for tests: the official client talks to it unchanged.

    with FakeCluster(namespaces=("team-a",)) as cluster:
        orch = cluster.orchestrator("team-a", image="python:3.11")
        job_id = orch.submit(JobSpec("e1", [sys.executable, "-c", "print(1)"]))

It serves Jobs, Pods, Secrets, Events, ServiceAccount TokenRequests, pod logs and watches (errors as
`Status` objects, bearer-token auth with RBAC for minted tokens). Its kubelet runs each Job's container
command as a real local process with the container's env (literal, envFrom and secretKeyRef) and files
(a Secret volume becomes files; mount paths in the command and env are rewritten to the pod's sandbox),
captures the output as the pod log, keeps Job/Pod conditions current and kills the process on delete.
The image is not pulled: the process runs on this machine. Knobs: `fail_image_pull`, `oom_kill`, `evict`,
`schedule_delay` (re-read while a pod waits: set it to 0 to free capacity). Every created object is checked
with `kubernetes_validate` in strict mode.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kitaru_k8s.testing._api import ApiError, Handler, not_found
from kitaru_k8s.testing._kubelet import Kubelet
from kitaru_k8s.testing._store import Store, now_rfc3339

__all__ = ["FakeCluster"]
_GROUPS = {"Job": ("jobs", "batch"), "Secret": ("secrets", ""), "Pod": ("pods", "")}


class FakeCluster:
    """The fake API server + kubelet on 127.0.0.1 (a context manager; `close()` kills every pod process)."""

    def __init__(self, namespaces: tuple[str, ...] = ("default",), *, validate: str | None = "1.31",
                 grace_period: float = 2.0, schedule_delay: float = 0.0, base_env: dict[str, str] | None = None,
                 dispatch_rules: list[dict[str, Any]] | None = None) -> None:
        if validate:
            import kubernetes_validate  # noqa: F401  (fail early: `pip install kubernetes-validate` or validate=None)
        self.validate_version = validate
        self.grace_period, self.schedule_delay = grace_period, schedule_delay
        self.base_env: dict[str, str] = dict(base_env or {})
        self.image_pull_failures: list[str] = []
        self.oom_kills: list[tuple[str, float]] = []
        self.created: list[dict[str, Any]] = []  # every object created through the API, as sent
        self.admin_token = "fake-admin-" + secrets.token_urlsafe(16)
        self.store = Store(namespaces=set(namespaces))
        self.root = Path(tempfile.mkdtemp(prefix="kitaru-fake-k8s-"))
        self.kubelet = Kubelet(self)
        from kitaru_k8s._manifests import DISPATCH_RULES

        for ns in namespaces:
            self.add_service_account(ns, "kitaru-dispatch", DISPATCH_RULES if dispatch_rules is None
                                     else dispatch_rules)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.cluster = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-k8s-api", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test API ------------------------------------------------------------------------------------------------
    def __enter__(self) -> FakeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill every pod process, stop the server, remove the sandboxes."""
        self.kubelet.shutdown()
        self.store.close()
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.root, ignore_errors=True)

    def config(self, namespace: str = "default", **overrides: Any) -> dict[str, Any]:
        """Orchestrator config values that reach this cluster as its admin."""
        return {"namespace": namespace, "host": self.url, "token": self.admin_token, **overrides}

    def orchestrator(self, namespace: str = "default", **overrides: Any) -> Any:
        """A `KubernetesOrchestrator` connected to this cluster as its admin."""
        from kitaru_k8s._config import KubernetesOrchestratorConfig
        from kitaru_k8s._orchestrator import KubernetesOrchestrator

        return KubernetesOrchestrator(KubernetesOrchestratorConfig(**self.config(namespace, **overrides)))

    def add_namespace(self, namespace: str) -> None:
        """Create a namespace."""
        self.store.namespaces.add(namespace)

    def add_service_account(self, namespace: str, name: str, rules: list[dict[str, Any]]) -> None:
        """A service account bound to a Role with `rules` in its namespace (what its tokens may do)."""
        self.store.service_accounts[(namespace, name)] = [dict(r) for r in rules]

    def fail_image_pull(self, pattern: str) -> None:
        """Images matching the glob `pattern` cannot be pulled (ErrImagePull, then ImagePullBackOff)."""
        self.image_pull_failures.append(pattern)

    def oom_kill(self, pattern: str, after: float = 0.2) -> None:
        """Containers with an image matching `pattern` are OOM-killed `after` seconds after they start."""
        self.oom_kills.append((pattern, after))

    def evict(self, job_id: str) -> None:
        """Evict the running pod of `namespace/job` (node pressure)."""
        ns, _, name = job_id.rpartition("/")
        self.kubelet.evict(ns, name)

    def process(self, job_id: str) -> Any:
        """The local process running `namespace/job`'s container (None before it starts or once deleted)."""
        ns, _, name = job_id.rpartition("/")
        return self.kubelet.running(ns, name)

    def spawned_at(self, job_id: str) -> float | None:
        """When the kubelet started the process of `namespace/job`'s container (time.time()), or None."""
        ns, _, name = job_id.rpartition("/")
        return self.kubelet.spawned_at(ns, name)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A stored object ("Job", "Pod", "Secret", "Event"), or None."""
        return self.store.get(kind, namespace, name)

    def list(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        """Every stored object of `kind` in `namespace`."""
        return self.store.list(kind, namespace)

    # -- called by the HTTP handler ------------------------------------------------------------------------------
    def create(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST of a Job or Secret: validated strictly, stored, a Job started by the kubelet."""
        if kind not in ("Job", "Secret"):
            raise ApiError(405, "MethodNotAllowed", f"the fake cluster does not create {kind} objects")
        self._validate(kind, namespace, body)
        self.created.append(body)
        resource, group = _GROUPS[kind]
        try:
            obj = self.store.create(kind, namespace, body)
        except KeyError:
            name = body["metadata"]["name"]
            raise ApiError(409, "AlreadyExists", f'{resource}{"." + group if group else ""} "{name}" already exists',
                           {"name": name, "group": group, "kind": resource}) from None
        if kind == "Job":
            self.kubelet.start(namespace, obj)
        elif self._dangling(namespace, obj):  # the garbage collector removes dependents of a deleted owner
            self.store.delete(kind, namespace, obj["metadata"]["name"])
        return obj

    def _validate(self, kind: str, namespace: str, body: dict[str, Any]) -> None:
        meta = body.get("metadata") or {}
        if not meta.get("name"):
            raise ApiError(422, "Invalid", f"{kind} is invalid: metadata.name: Required value")
        if meta.get("namespace") not in (None, namespace):
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace"
                                              " sent on the request")
        if body.get("kind") != kind:
            raise ApiError(400, "BadRequest", f"expected kind {kind}, got {body.get('kind')!r}")
        if self.validate_version:
            import kubernetes_validate

            try:
                kubernetes_validate.validate(body, self.validate_version, strict=True)
            except Exception as exc:  # ValidationError, InvalidSchemaError, ...
                raise ApiError(422, "Invalid", f"{kind} {meta['name']!r} is invalid for Kubernetes"
                                               f" {self.validate_version} (strict): {exc}") from None

    def _dangling(self, namespace: str, obj: dict[str, Any]) -> bool:
        refs = obj["metadata"].get("ownerReferences") or []
        jobs = {j["metadata"]["uid"] for j in self.store.list("Job", namespace)}
        return bool(refs) and all(r.get("kind") == "Job" and r.get("uid") not in jobs for r in refs)

    def delete_job(self, namespace: str, name: str, policy: str) -> None:
        """DELETE of a Job: Foreground keeps it (deletionTimestamp) until its pod is gone; dependents are deleted."""
        job = self.store.get("Job", namespace, name)
        if job is None:
            raise not_found("jobs", name, "batch")
        if policy == "Foreground":
            self.store.update("Job", namespace, name, lambda j: j["metadata"].update(
                deletionTimestamp=j["metadata"].get("deletionTimestamp") or now_rfc3339(),
                finalizers=["foregroundDeletion"]))
        else:
            self.store.delete("Job", namespace, name)
        threading.Thread(target=self._collect, args=(namespace, job), name=f"fake-gc-{name}", daemon=True).start()

    def _collect(self, namespace: str, job: dict[str, Any]) -> None:
        """Garbage collection: kill the pod, delete what the Job owns, then the Job itself."""
        name = job["metadata"]["name"]
        self.kubelet.stop(namespace, name, wait=True)
        for kind, ns, dependent in self.store.owned_by(job["metadata"]["uid"]):
            self.store.delete(kind, ns, dependent)
        self.store.delete("Job", namespace, name)

    def token_request(self, namespace: str, account: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST serviceaccounts/NAME/token: a bearer token this server accepts, with that account's RBAC."""
        if (namespace, account) not in self.store.service_accounts:
            raise not_found("serviceaccounts", account)
        if self.validate_version:
            import kubernetes_validate

            try:
                kubernetes_validate.validate(body, self.validate_version, strict=True)
            except Exception as exc:
                raise ApiError(422, "Invalid", f"TokenRequest is invalid: {exc}") from None
        seconds = int((body.get("spec") or {}).get("expirationSeconds") or 3600)
        if seconds < 600:
            raise ApiError(422, "Invalid", f"TokenRequest.authentication.k8s.io \"{account}\" is invalid:"
                                           f" spec.expirationSeconds: Invalid value: {seconds}: may not specify a"
                                           " duration less than 10 minutes")
        token, _ = self.store.mint_token(namespace, account, seconds)
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "metadata": {"name": account, "namespace": namespace, "creationTimestamp": now_rfc3339()},
                "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": seconds},
                "status": {"token": token, "expirationTimestamp": now_rfc3339(seconds)}}

    def pod_log(self, namespace: str, pod: str) -> bytes:
        """The pod's captured output; 400 while its container waits to start, as on a real cluster."""
        obj = self.store.get("Pod", namespace, pod)
        if obj is None:
            raise not_found("pods", pod)
        for cs in obj["status"].get("containerStatuses") or [{"state": {"waiting": {"reason": "ContainerCreating"}}}]:
            waiting = cs["state"].get("waiting")
            if waiting:
                raise ApiError(400, "BadRequest", f'container "{cs.get("name", "runtime")}" in pod "{pod}" is waiting'
                                                  f' to start: {waiting.get("reason")}')
        path = self.root / namespace / pod / "log"
        return path.read_bytes() if path.exists() else b""

    def event(self, namespace: str, pod: str, type_: str, reason: str, message: str) -> None:
        """Record an Event about a pod (what `kubectl describe pod` shows)."""
        self.store.create("Event", namespace, {
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{pod}.{secrets.token_hex(8)}"},
            "involvedObject": {"kind": "Pod", "name": pod, "namespace": namespace}, "type": type_, "reason": reason,
            "message": message, "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339(), "count": 1})
