"""The `sagemaker` orchestrator: one training job per JobSpec through boto3's `sagemaker` client."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.plugins import CredentialBroker, Credentials, JobSpec, JobStatus

from kitaru_sagemaker._aws import client, region_of
from kitaru_sagemaker._config import SageMakerOrchestratorConfig
from kitaru_sagemaker._errors import SageMakerError, SageMakerJobNotFoundError, translate
from kitaru_sagemaker._policy import JOB_PREFIX, SECRET_PREFIX, dispatch_policy
from kitaru_sagemaker._request import JOB_NAME, build_request, job_name
from kitaru_sagemaker._status import finished, job_status

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
MIN_TTL, MAX_TTL = 900, 3600
SECRET_ENV = ("KITARU_AUTH_TOKEN",)  # kept out of DescribeTrainingJob with token_delivery: secretsmanager  # STS AssumeRole limits (role chaining caps at one hour)


class SageMakerOrchestrator:
    """submit / status / cancel / logs against SageMaker training jobs; `mint_credentials` for the server."""

    flavor = "sagemaker"
    remote = True

    def __init__(self, config: SageMakerOrchestratorConfig, *, broker: CredentialBroker | None = None) -> None:
        self.config, self.broker = config, broker
        self._clients: dict[str, Any] = {}
        self._swept: set[str] = set()
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                endpoint = {"sagemaker": self.config.endpoint_url,
                            "logs": self.config.logs_endpoint_url or self.config.endpoint_url,
                            "sts": self.config.sts_endpoint_url,
                            "secretsmanager": self.config.secrets_endpoint_url}[service]
                broker = None if service == "sts" else self.broker  # minting uses the server's own identity
                self._clients[service] = client(service, self.config, broker=broker, endpoint_url=endpoint)
            return self._clients[service]

    def _name(self, job_id: str) -> str:
        if not JOB_NAME.match(job_id):
            raise SageMakerJobNotFoundError(f"{job_id!r} is not a training job of Kitaru (names look like"
                                            " kitaru-EXEC-xxxxxxxx)")
        return job_id

    # -- Orchestrator protocol ---------------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> str:
        """CreateTrainingJob running `job.command` as the container entrypoint; returns the job name."""
        name = job_name(job.exec_id)
        request = build_request(job, name, self.config)
        secret = self._hide_secrets(request, name) if self.config.token_delivery == "secretsmanager" else None
        try:
            with translate(f"create training job {name}"):
                self._client("sagemaker").create_training_job(**request)
        except BaseException:
            if secret:
                self._delete_secret(secret)
            raise
        return name

    def _hide_secrets(self, request: dict[str, Any], name: str) -> str | None:
        """Move the execution token out of `Environment` into a Secrets Manager secret the entrypoint reads."""
        env = request["Environment"]
        hidden = {k: env.pop(k) for k in SECRET_ENV if k in env}
        if not hidden:
            return None
        with translate(f"create the secret of training job {name}"):
            arn = str(self._client("secretsmanager").create_secret(
                Name=f"{SECRET_PREFIX}{name.removeprefix(JOB_PREFIX)}", SecretString=json.dumps(hidden),
                Description=f"Kitaru execution token of training job {name} (deleted when the job starts)")["ARN"])
        env["KITARU_SECRET_ENV_ARN"] = arn
        algo = request["AlgorithmSpecification"]
        command = [*algo["ContainerEntrypoint"], *algo.get("ContainerArguments", [])]
        algo["ContainerEntrypoint"] = [command[0]]
        algo["ContainerArguments"] = ["-m", "kitaru_sagemaker.entrypoint", *command]
        return arn

    def _delete_secret(self, arn: str, *, missing_ok: bool = False) -> None:
        """Best effort: the secret holds the token of a job that never ran (or already read it)."""
        try:
            with translate(f"delete secret {arn}"):
                self._client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        except SageMakerError:
            pass

    def describe(self, job_id: str) -> dict[str, Any]:
        """DescribeTrainingJob (SageMakerJobNotFoundError if it does not exist)."""
        name = self._name(job_id)
        with translate(f"describe training job {name}"):
            return dict(self._client("sagemaker").describe_training_job(TrainingJobName=name))

    def status(self, job_id: str) -> JobStatus:
        """From TrainingJobStatus / SecondaryStatus; a failure carries SageMaker's FailureReason."""
        desc = self.describe(job_id)
        env = desc.get("Environment") or {}
        if finished(desc) and env.get("KITARU_SECRET_ENV_ARN") and job_id not in self._swept:
            self._swept.add(job_id)  # a job that ended before its entrypoint ran leaves its token secret: remove it
            self._delete_secret(env["KITARU_SECRET_ENV_ARN"], missing_ok=True)
        return job_status(desc)

    def cancel(self, job_id: str) -> None:
        """StopTrainingJob (SIGTERM, then SIGKILL after 120 s on SageMaker); a finished job is left alone."""
        if finished(self.describe(job_id)):
            return
        try:
            with translate(f"stop training job {job_id}"):
                self._client("sagemaker").stop_training_job(TrainingJobName=job_id)
        except SageMakerError as exc:
            if exc.code != "ValidationException" or not finished(self.describe(job_id)):
                raise  # a job that finished meanwhile refuses the stop: that is fine

    def logs(self, job_id: str) -> Iterator[str]:
        """The job's status transitions and failure reason, then its CloudWatch log streams (all instances)."""
        desc = self.describe(job_id)
        for t in desc.get("SecondaryStatusTransitions") or []:
            yield f"[sagemaker] {t.get('Status')}: {t.get('StatusMessage', '')}".rstrip(": ")
        if desc.get("FailureReason"):
            yield f"[sagemaker] FailureReason: {desc['FailureReason']}"
        yield from self._cloudwatch(job_id)

    def _cloudwatch(self, name: str) -> Iterator[str]:
        logs = self._client("logs")
        try:
            with translate(f"list the log streams of {name}"):
                streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/")
        except SageMakerError as exc:
            if exc.code != "ResourceNotFoundException":
                yield f"[sagemaker] cannot read CloudWatch Logs: {exc}"
            return
        for stream in sorted(streams.get("logStreams", []), key=lambda s: s["logStreamName"]):
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream["logStreamName"],
                                          "startFromHead": True}
                if token:
                    kwargs["nextToken"] = token
                with translate(f"read log stream {stream['logStreamName']}"):
                    page = logs.get_log_events(**kwargs)
                yield from (e["message"] for e in page.get("events", []))
                if not page.get("events") or page.get("nextForwardToken") in (None, token):
                    break
                token = page["nextForwardToken"]

    # -- credentials -----------------------------------------------------------------------------------------------
    def dispatch_policy(self) -> dict[str, Any]:
        """The session policy of minted dispatch credentials (see `kitaru_sagemaker.dispatch_policy`)."""
        return dispatch_policy(self.config.role_arn, region_of(self.config),
                               secrets=self.config.token_delivery == "secretsmanager")

    def mint_credentials(self, scope: str = "", *, access: str = "write", ttl: int = MIN_TTL) -> Credentials:
        """STS AssumeRole of `dispatch_role_arn` narrowed by `dispatch_policy()`: create/describe/stop + PassRole.

        The server calls this with its own identity (component "orchestrator"); clients submit with the result.
        """
        if not self.config.dispatch_role_arn:
            raise KitaruUsageError("the sagemaker orchestrator has no `dispatch_role_arn`: set it on the stack's"
                                   " orchestrator (the role the server assumes to mint dispatch credentials)")
        ttl = min(max(int(ttl), MIN_TTL), MAX_TTL)
        with translate(f"assume {self.config.dispatch_role_arn} for dispatch credentials"):
            resp = self._client("sts").assume_role(
                RoleArn=self.config.dispatch_role_arn, RoleSessionName=f"kitaru-dispatch-{uuid.uuid4().hex[:12]}",
                Policy=json.dumps(self.dispatch_policy()), DurationSeconds=ttl)
        c = resp["Credentials"]
        expires = c["Expiration"]
        expires = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
        expires = min(expires, datetime.now(timezone.utc) + timedelta(seconds=ttl))
        values = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                  "aws_session_token": c["SessionToken"], "region": region_of(self.config)}
        return Credentials("sagemaker", "write", scope, expires, values)
