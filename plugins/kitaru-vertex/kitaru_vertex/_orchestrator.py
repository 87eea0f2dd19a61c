"""The `vertex` orchestrator: one Vertex AI CustomJob per JobSpec through the official JobServiceClient."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from kitaru.plugins import CredentialBroker, Credentials, JobSpec, JobStatus
from kitaru_vertex._config import VertexOrchestratorConfig
from kitaru_vertex._connection import SCOPES, Connection
from kitaru_vertex._errors import VertexError, VertexJobNotFoundError, VertexUsageError, translate_errors
from kitaru_vertex._jobs import JOB_NAME, build_custom_job, job_status

MIN_TOKEN_TTL, MAX_TOKEN_TTL = 300, 3600
_cancelled: set[str] = set()
_cancelled_lock = threading.Lock()


class VertexOrchestrator:
    """submit / status / cancel / logs against Vertex AI; `mint_dispatch_credentials` for the server."""

    flavor = "vertex"
    remote = True

    def __init__(self, config: VertexOrchestratorConfig, *, broker: CredentialBroker | None = None) -> None:
        self.config = config
        self.parent = f"projects/{config.project}/locations/{config.region}"
        self.connection = Connection(config, broker)
        _preload_client()

    def _errors(self, action: str) -> Any:
        return translate_errors(action, self.parent)

    def _name(self, job_id: str) -> str:
        match = JOB_NAME.match(job_id)
        if match is None or match["region"] != self.config.region:
            raise VertexJobNotFoundError(
                f"{job_id!r} is not a Vertex AI CustomJob of this orchestrator (region {self.config.region!r});"
                " job ids look like projects/P/locations/REGION/customJobs/NUMBER")
        return job_id

    # -- Orchestrator protocol ---------------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> str:
        """Create the CustomJob; returns its resource name (the job id)."""
        custom = build_custom_job(job, self.config)
        with self._errors(f"create CustomJob {custom.display_name}"):
            created = self.connection.jobs().create_custom_job(parent=self.parent, custom_job=custom,
                                                               timeout=self.config.request_timeout)
        return str(created.name)

    def _get(self, name: str) -> Any:
        from google.api_core import exceptions as gex

        with self._errors(f"get CustomJob {name}"):
            try:
                return self.connection.jobs().get_custom_job(name=name, timeout=self.config.request_timeout)
            except gex.NotFound:
                return None

    def status(self, job_id: str) -> JobStatus:
        """From the job's state; a job that no longer exists is reported as failed (deleted)."""
        job = self._get(self._name(job_id))
        if job is None:
            return JobStatus("failed", f"CustomJob {job_id} no longer exists (deleted by someone); its outcome is"
                                       " unknown")
        return job_status(job, cancelled=job_id in _cancelled)

    def cancel(self, job_id: str) -> None:
        """`cancel_custom_job` (Vertex stops the container: CANCELLING → CANCELLED); a finished job is left alone."""
        name = self._name(job_id)
        job = self._get(name)
        if job is None or job_status(job).done:
            return
        with _cancelled_lock:
            _cancelled.add(job_id)
        with self._errors(f"cancel CustomJob {name}"):
            self.connection.jobs().cancel_custom_job(name=name, timeout=self.config.request_timeout)

    def logs(self, job_id: str) -> Iterator[str]:
        """The job's state and error (why it never started), then its container output from Cloud Logging."""
        name = self._name(job_id)
        job = self._get(name)
        if job is None:
            yield f"[vertex] CustomJob {name} no longer exists"
            return
        status = job_status(job, cancelled=job_id in _cancelled)
        yield f"[vertex] {job.state.name}: {status.message}"
        try:
            yield from self._log_entries(name)
        except VertexError as exc:  # container output is a courtesy: the runtime's logs also reach the server
            yield f"[vertex] container logs unavailable: {exc}"

    def _log_entries(self, name: str) -> Iterator[str]:
        import requests

        job_number = name.rsplit("/", 1)[-1]
        body: dict[str, Any] = {
            "resourceNames": [f"projects/{self.config.project}"], "orderBy": "timestamp asc", "pageSize": 1000,
            "filter": f'resource.type="ml_job" AND resource.labels.job_id="{job_number}"'}
        with self._errors(f"read the Cloud Logging entries of CustomJob {job_number}"):
            resp = requests.post(f"{_url(self.config.logging_endpoint)}/v2/entries:list", json=body,
                                 headers={"Authorization": f"Bearer {self.connection.token()}"},
                                 timeout=self.config.request_timeout)
        if resp.status_code != 200:
            raise VertexError(f"Cloud Logging answered {resp.status_code}: {resp.text[:300]}", status=resp.status_code)
        for entry in resp.json().get("entries") or []:
            text = entry.get("textPayload")
            if text is None:
                text = str((entry.get("jsonPayload") or {}).get("message", ""))
            yield from text.splitlines() or [""]

    # -- extras --------------------------------------------------------------------------------------------------
    def wait(self, job_id: str, timeout: float = 600.0, poll: float = 0.5) -> JobStatus:
        """Poll until the job is done, at most `timeout` seconds; returns the last status."""
        deadline = time.monotonic() + timeout
        status = self.status(job_id)
        while not status.done and time.monotonic() < deadline:
            time.sleep(poll)
            status = self.status(job_id)
        return status

    def mint_dispatch_credentials(self, ttl: int = 900) -> Credentials:
        """An access token of `dispatch_service_account`, valid `ttl` (300..3600) seconds.

        The server impersonates the account through IAM Credentials `generateAccessToken` with its own
        identity (it needs roles/iam.serviceAccountTokenCreator on that account); the account's IAM role
        allows only create/get/cancel of CustomJobs, reading their logs and actAs on the runner account.
        """
        import requests

        account = self.config.dispatch_service_account
        if not account:
            raise VertexUsageError("the vertex orchestrator has no `dispatch_service_account`: set it to the account"
                                   " clients dispatch as (see the kitaru-vertex README, IAM permissions)")
        ttl = min(max(int(ttl), MIN_TOKEN_TTL), MAX_TOKEN_TTL)
        url = f"{_url(self.config.iam_endpoint)}/v1/projects/-/serviceAccounts/{account}:generateAccessToken"
        with self._errors(f"mint a token for {account}"):
            resp = requests.post(url, json={"scope": SCOPES, "lifetime": f"{ttl}s"},
                                 headers={"Authorization": f"Bearer {self.connection.token()}"},
                                 timeout=self.config.request_timeout)
        if resp.status_code != 200:
            from kitaru_vertex._errors import VertexForbiddenError

            kind = VertexForbiddenError if resp.status_code in (401, 403) else VertexError
            raise kind(f"IAM Credentials refused to mint a token for {account}: {resp.status_code}"
                       f" {_message(resp)}; the server's identity needs roles/iam.serviceAccountTokenCreator on it",
                       status=resp.status_code)
        out = resp.json()
        expires = _parse_time(out.get("expireTime")) or datetime.now(timezone.utc) + timedelta(seconds=ttl)
        return Credentials("vertex", "write", self.parent, expires,
                           {"access_token": out["accessToken"], "project": self.config.project,
                            "region": self.config.region, "service_account": account})

    def mint_credentials(self, scope: str = "", *, access: str = "write", ttl: int = 900) -> Credentials:
        """Same as `mint_dispatch_credentials` (the name the server's credentials route calls)."""
        return self.mint_dispatch_credentials(ttl)


_preloading: threading.Thread | None = None


def _preload_client() -> None:
    """Import `aiplatform_v1` (~1 s) in the background: it overlaps with packaging and uploading the code."""
    global _preloading
    if _preloading is None:
        def load() -> None:
            try:
                import google.cloud.aiplatform_v1  # noqa: F401
            except ImportError:
                pass  # reported properly when the client is built

        _preloading = threading.Thread(target=load, name="kitaru-vertex-preload", daemon=True)
        _preloading.start()


def _url(endpoint: str) -> str:
    return endpoint if endpoint.startswith(("http://", "https://")) else f"https://{endpoint}"


def _message(resp: Any) -> str:
    try:
        return str(resp.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return str(resp.text[:300])


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
