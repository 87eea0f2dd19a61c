"""A loopback fake of Vertex AI's JobService REST API: the official client (transport="rest") talks to it unchanged.

    with FakeVertex() as vertex:
        orch = vertex.orchestrator(image="python:3.11")
        job_id = orch.submit(JobSpec("e1", [sys.executable, "-c", "print(1)"]))

It serves create/get/cancel of CustomJobs, IAM Credentials `generateAccessToken` (impersonation: tokens that
carry the dispatch permissions only) and Cloud Logging `entries:list` (each job's container output). Every
created job is checked like the real API checks it: the body must parse as an `aiplatform_v1.CustomJob`
with no unknown or output-only fields, one worker pool with an image and a machine type. Each job's
container command runs as a real local process with its env (see `_jobs.py` for the states). The image is
not pulled. Knobs: `fail_before_start(pattern, message)`, `queue_delay`, `provision_delay`.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import shutil
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kitaru_vertex.testing._api import ApiError, Handler
from kitaru_vertex.testing._jobs import Runner, now_rfc3339

__all__ = ["FakeVertex"]
_OUTPUT_ONLY = ("name", "state", "createTime", "startTime", "endTime", "updateTime", "error", "webAccessUris")
_JOB_FILTER = re.compile(r'resource\.labels\.job_id="(\d+)"')


class FakeVertex:
    """The fake JobService + IAM Credentials + Cloud Logging on 127.0.0.1 (a context manager)."""

    def __init__(self, project: str = "kitaru-test", region: str = "us-central1", *, grace_period: float = 2.0,
                 queue_delay: float = 0.0, provision_delay: float = 0.0,
                 base_env: dict[str, str] | None = None) -> None:
        from kitaru_vertex import DISPATCH_PERMISSIONS

        self.project, self.region = project, region
        self.grace_period, self.queue_delay, self.provision_delay = grace_period, queue_delay, provision_delay
        self.base_env: dict[str, str] = dict(base_env or {})
        self.start_failures: list[tuple[str, str]] = []
        self.created: list[dict[str, Any]] = []  # every CustomJob body as sent on the wire
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.admin_token = "fake-admin-" + secrets.token_urlsafe(16)
        self.dispatch_account = f"kitaru-dispatch@{project}.iam.gserviceaccount.com"
        self.accounts: dict[str, set[str]] = {self.dispatch_account: set(DISPATCH_PERMISSIONS)}
        self.tokens: dict[str, set[str] | None] = {self.admin_token: None}  # token -> permissions (None: all)
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._next = 10**17 + secrets.randbelow(10**17)  # numeric ids, unique across fakes like real ones
        self.root = Path(tempfile.mkdtemp(prefix="kitaru-fake-vertex-"))
        self.runner = Runner(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-vertex-api", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test API ------------------------------------------------------------------------------------------------
    def __enter__(self) -> FakeVertex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill every job process, stop the server, remove the sandboxes."""
        self.runner.shutdown()
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.root, ignore_errors=True)

    def config(self, **overrides: Any) -> dict[str, Any]:
        """Orchestrator config values that reach this fake as its admin."""
        return {"project": self.project, "region": self.region, "api_endpoint": self.url, "iam_endpoint": self.url,
                "logging_endpoint": self.url, "access_token": self.admin_token,
                "dispatch_service_account": self.dispatch_account, **overrides}

    def orchestrator(self, **overrides: Any) -> Any:
        """A `VertexOrchestrator` connected to this fake as its admin."""
        from kitaru_vertex._config import VertexOrchestratorConfig
        from kitaru_vertex._orchestrator import VertexOrchestrator

        return VertexOrchestrator(VertexOrchestratorConfig(**self.config(**overrides)))

    def fail_before_start(self, pattern: str, message: str) -> None:
        """Jobs whose image matches the glob `pattern` fail in PENDING with `message` (e.g. an image pull error)."""
        self.start_failures.append((pattern, message))

    def add_service_account(self, email: str, permissions: set[str]) -> None:
        """An account the admin may mint tokens for, holding `permissions`."""
        self.accounts[email] = set(permissions)

    def process(self, job_id: str) -> Any:
        """The local process running the job's container (None before it starts)."""
        run = self.runner.runs.get(job_id)
        return run.proc if run else None

    def job(self, name: str) -> dict[str, Any]:
        """A copy of the stored job (KeyError if there is none)."""
        with self._lock:
            return copy.deepcopy(self._jobs[name])

    def jobs(self) -> list[dict[str, Any]]:
        """Every stored job."""
        with self._lock:
            return [copy.deepcopy(j) for j in self._jobs.values()]

    def set_state(self, name: str, state: str, **fields: Any) -> None:
        """Move a job to `state` (the runner's transitions; tests may force one)."""
        with self._lock:
            self._jobs[name].update(state=state, updateTime=now_rfc3339(), **fields)

    def delete(self, name: str) -> None:
        """Delete a job (as someone with the console would); its process is killed."""
        self.runner.stop(name, wait=True)
        with self._lock:
            self._jobs.pop(name, None)

    # -- called by the HTTP handler ------------------------------------------------------------------------------
    def authorize(self, token: str, permission: str) -> None:
        """401 for an unknown token, 403 when its account lacks `permission`."""
        if token not in self.tokens:
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token,"
                                " login cookie or other valid authentication credential.")
        allowed = self.tokens[token]
        if allowed is not None and permission not in allowed:
            raise ApiError(403, f"Permission '{permission}' denied on resource (or it may not exist).")

    def create(self, project: str, region: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST customJobs: checked as the real API does, stored QUEUED, its container started by the runner."""
        self._validate(project, region, body)
        self.created.append(copy.deepcopy(body))
        with self._lock:
            self._next += 1
            name = f"projects/{project}/locations/{region}/customJobs/{self._next}"
            job = {**copy.deepcopy(body), "name": name, "state": "JOB_STATE_QUEUED", "createTime": now_rfc3339(),
                   "updateTime": now_rfc3339()}
            self._jobs[name] = job
            out = copy.deepcopy(job)
        self.runner.start(name)
        return out

    def _validate(self, project: str, region: str, body: dict[str, Any]) -> None:
        from google.cloud import aiplatform_v1 as v1

        if project != self.project or region != self.region:
            raise ApiError(404, f"Location projects/{project}/locations/{region} is not served here"
                                f" (projects/{self.project}/locations/{self.region}).")
        try:
            v1.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)
        except Exception as exc:  # json_format.ParseError: unknown field or wrong type
            raise ApiError(400, f"Invalid JSON payload received. {exc}") from None
        given = [f for f in _OUTPUT_ONLY if f in body]
        if given:
            raise ApiError(400, f"CustomJob.{given[0]} is output only.")
        if not body.get("displayName"):
            raise ApiError(400, "CustomJob.display_name is required.")
        pools = (body.get("jobSpec") or {}).get("workerPoolSpecs") or []
        if not pools:
            raise ApiError(400, "CustomJob.job_spec.worker_pool_specs is required.")
        pool = pools[0]
        if not (pool.get("containerSpec") or {}).get("imageUri"):
            raise ApiError(400, "worker_pool_specs[0].container_spec.image_uri is required.")
        if not (pool.get("machineSpec") or {}).get("machineType"):
            raise ApiError(400, "worker_pool_specs[0].machine_spec.machine_type is required.")
        if int(pool.get("replicaCount") or 0) < 1:
            raise ApiError(400, "worker_pool_specs[0].replica_count must be at least 1.")

    def get(self, name: str) -> dict[str, Any]:
        """GET a job; 404 as the real API says it."""
        with self._lock:
            if name not in self._jobs:
                raise ApiError(404, f'The CustomJob "{name}" does not exist.')
            return copy.deepcopy(self._jobs[name])

    def cancel(self, name: str) -> None:
        """:cancel: CANCELLING, then the runner kills the process and marks it CANCELLED; a finished job: 400."""
        with self._lock:
            job = self._jobs.get(name)
            if job is None:
                raise ApiError(404, f'The CustomJob "{name}" does not exist.')
            if job["state"] in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
                raise ApiError(400, f"Cannot cancel CustomJob {name} in state {job['state']}.")
            job["state"] = "JOB_STATE_CANCELLING"
        threading.Thread(target=self.runner.stop, args=(name, True), daemon=True).start()

    def log_entries(self, body: dict[str, Any]) -> dict[str, Any]:
        """entries:list for `resource.labels.job_id="N"`: the container's output lines."""
        match = _JOB_FILTER.search(str(body.get("filter") or ""))
        if match is None or 'resource.type="ml_job"' not in str(body.get("filter")):
            raise ApiError(400, "the fake serves only ml_job filters with resource.labels.job_id")
        name = f"projects/{self.project}/locations/{self.region}/customJobs/{match.group(1)}"
        run = self.runner.runs.get(name)
        lines = list(run.lines) if run else []
        return {"entries": [{"logName": f"projects/{self.project}/logs/workerpool0-0", "timestamp": ts,
                             "resource": {"type": "ml_job", "labels": {"job_id": match.group(1)}},
                             "textPayload": text} for ts, text in lines]}

    def mint(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        """generateAccessToken: a token carrying the account's permissions, for at most 3600 s."""
        if account not in self.accounts:
            raise ApiError(404, f"Service account {account} does not exist.")
        lifetime = float(str(body.get("lifetime") or "3600s").rstrip("s"))
        if not 0 < lifetime <= 3600:
            raise ApiError(400, "lifetime must be at most 3600s")
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        self.tokens[token] = set(self.accounts[account])
        from datetime import datetime, timedelta, timezone

        expires = datetime.now(timezone.utc) + timedelta(seconds=lifetime)
        return {"accessToken": token, "expireTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
