"""A loopback fake of the SageMaker control-plane calls Kitaru uses; boto3 talks to it unchanged.

    with FakeSageMaker() as fake:
        orch = fake.orchestrator(image="python:3.11")
        job_id = orch.submit(JobSpec("e1", [sys.executable, "-c", "print(1)"]))

It speaks the JSON 1.1 protocol (`X-Amz-Target: SageMaker.CreateTrainingJob`, `DescribeTrainingJob`,
`StopTrainingJob`; errors as `{"__type", "message"}`) and, for the job logs, CloudWatch Logs'
`DescribeLogStreams`/`GetLogEvents` on the same port. Each job runs its `ContainerEntrypoint` +
`ContainerArguments` as a real local process with its `Environment` (the image is not pulled), with the
lifecycle SageMaker documents (see `_jobs`). Knobs: `fail_image`, `start_delay`, `download_delay`,
`stop_grace`. Every request is checked for the fields SageMaker requires, and kept in `requests`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kitaru_sagemaker.testing._jobs import FakeJob, Runner

__all__ = ["FakeSageMaker", "PULL_FAILURE"]
PULL_FAILURE = ("ClientError: Cannot find or pull the training image {image}. Check that the image exists"
                " and that the execution role may pull it.")
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ROLE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class ApiError(Exception):
    """An AWS error response: HTTP status, `__type` and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class FakeSageMaker:
    """The fake control plane on 127.0.0.1 (a context manager; `close()` kills every job's process)."""

    def __init__(self, *, start_delay: float = 0.05, download_delay: float = 0.05, stop_grace: float = 2.0,
                 base_env: dict[str, str] | None = None) -> None:
        self.start_delay, self.download_delay, self.stop_grace = start_delay, download_delay, stop_grace
        self.base_env: dict[str, str] = dict(base_env or {})
        self.image_failures: list[tuple[str, str]] = []
        self.requests: list[dict[str, Any]] = []  # every CreateTrainingJob body, as sent
        self.calls: list[str] = []  # every operation, in order
        self.access_keys: list[str] = []  # the access key id that signed each call
        self.jobs: dict[str, FakeJob] = {}
        self.root = Path(tempfile.mkdtemp(prefix="kitaru-fake-sagemaker-"))
        self.runner = Runner(self)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-sagemaker", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeSageMaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill every job process, stop the server, remove the sandboxes."""
        self.runner.shutdown(list(self.jobs.values()))
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- test API ------------------------------------------------------------------------------------------------
    def config(self, **overrides: Any) -> dict[str, Any]:
        """Orchestrator config values that reach this fake (dummy keys: it does not check signatures)."""
        return {"role_arn": "arn:aws:iam::123456789012:role/kitaru-jobs", "output_path": "s3://kitaru-out/jobs",
                "endpoint_url": self.url, "region": "us-east-1", "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing", "max_attempts": 1, **overrides}

    def orchestrator(self, **overrides: Any) -> Any:
        """A `SageMakerOrchestrator` talking to this fake."""
        from kitaru_sagemaker._config import SageMakerOrchestratorConfig
        from kitaru_sagemaker._orchestrator import SageMakerOrchestrator

        return SageMakerOrchestrator(SageMakerOrchestratorConfig(**self.config(**overrides)))

    def fail_image(self, pattern: str, reason: str = PULL_FAILURE) -> None:
        """Jobs with an image matching the glob `pattern` fail while downloading it (`{image}` in `reason`)."""
        self.image_failures.append((pattern, reason))

    def process(self, name: str) -> Any:
        """The local process of training job `name` (None before it starts)."""
        job = self.jobs.get(name)
        return job.proc if job else None

    # -- operations ------------------------------------------------------------------------------------------------
    def handle(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        """Dispatch one JSON 1.1 call."""
        self.calls.append(target)
        op = {"SageMaker.CreateTrainingJob": self._create, "SageMaker.DescribeTrainingJob": self._describe,
              "SageMaker.StopTrainingJob": self._stop, "Logs_20140328.DescribeLogStreams": self._streams,
              "Logs_20140328.GetLogEvents": self._events}.get(target)
        if op is None:
            raise ApiError("UnknownOperationException", f"the fake does not implement {target}")
        return op(body)

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        _validate_create(body)
        name = body["TrainingJobName"]
        with self._lock:
            if name in self.jobs:
                raise ApiError("ResourceInUse", f"Training job names must be unique within an AWS account and"
                                                f" region, and a training job with this name already exists ({name})")
            sandbox = self.root / name
            sandbox.mkdir()
            job = self.jobs[name] = FakeJob(request=body, sandbox=sandbox)
            self.requests.append(body)
        self.runner.start(job)
        return {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name.lower()}"}

    def _job(self, body: dict[str, Any]) -> FakeJob:
        job = self.jobs.get(str(body.get("TrainingJobName")))
        if job is None:
            raise ApiError("ValidationException", "Requested resource not found.")
        return job

    def _describe(self, body: dict[str, Any]) -> dict[str, Any]:
        job = self._job(body)
        with job.lock:
            return job.describe()

    def _stop(self, body: dict[str, Any]) -> dict[str, Any]:
        job = self._job(body)
        if job.status != "InProgress":
            raise ApiError("ValidationException", f"The request was rejected because the training job is in"
                                                  f" status {job.status}.")
        self.runner.stop(job)
        return {}

    def _streams(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("logGroupName") != LOG_GROUP or not any(j.stream for j in self.jobs.values()):
            raise ApiError("ResourceNotFoundException", "The specified log group does not exist.")
        prefix = str(body.get("logStreamNamePrefix", ""))
        return {"logStreams": [{"logStreamName": j.stream, "creationTime": int(j.created * 1000)}
                               for j in self.jobs.values() if j.stream and j.stream.startswith(prefix)]}

    def _events(self, body: dict[str, Any]) -> dict[str, Any]:
        stream = body.get("logStreamName")
        job = next((j for j in self.jobs.values() if j.stream == stream), None)
        if job is None:
            raise ApiError("ResourceNotFoundException", "The specified log stream does not exist.")
        if body.get("nextToken"):  # one page holds everything: the forward token repeats, as at the end of a stream
            return {"events": [], "nextForwardToken": body["nextToken"], "nextBackwardToken": "b/0"}
        path = job.sandbox / "log"
        lines = path.read_bytes().decode("utf-8", "replace").splitlines() if path.exists() else []
        ts = int(job.created * 1000)
        return {"events": [{"timestamp": ts, "message": line, "ingestionTime": ts} for line in lines],
                "nextForwardToken": f"f/{len(lines)}", "nextBackwardToken": "b/0"}


def _validate_create(body: dict[str, Any]) -> None:
    """What SageMaker's request validation refuses (the fields Kitaru sends)."""
    def need(path: str) -> Any:
        node: Any = body
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ApiError("ValidationException", f"1 validation error detected: Value null at '{path}' failed"
                                                      " to satisfy constraint: Member must not be null")
            node = node[part]
        return node

    if not _NAME.match(str(need("TrainingJobName"))):
        raise ApiError("ValidationException", "TrainingJobName must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
    need("AlgorithmSpecification.TrainingImage")
    if not _ROLE.match(str(need("RoleArn"))):
        raise ApiError("ValidationException", "RoleArn is not a valid IAM role ARN")
    if not str(need("OutputDataConfig.S3OutputPath")).startswith("s3://"):
        raise ApiError("ValidationException", "S3OutputPath must be an s3:// URI")
    need("ResourceConfig.InstanceType")
    need("ResourceConfig.InstanceCount")
    need("ResourceConfig.VolumeSizeInGB")
    need("StoppingCondition.MaxRuntimeInSeconds")
    env = body.get("Environment") or {}
    if len(env) > 48 or any(len(k) > 512 or len(v) > 512 for k, v in env.items()):
        raise ApiError("ValidationException", "Environment: at most 48 entries of at most 512 characters")
    if body.get("EnableManagedSpotTraining") and "MaxWaitTimeInSeconds" not in body["StoppingCondition"]:
        raise ApiError("ValidationException", "MaxWaitTimeInSeconds is required for managed spot training")
    algo = body["AlgorithmSpecification"]
    if len(algo.get("ContainerEntrypoint", [])) > 100 or len(algo.get("ContainerArguments", [])) > 100:
        raise ApiError("ValidationException", "at most 100 entrypoint items and 100 arguments")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        fake: FakeSageMaker = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if "Authorization" not in self.headers or "AWS4-HMAC-SHA256" not in self.headers["Authorization"]:
                raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token", 400)
            auth = self.headers["Authorization"]
            fake.access_keys.append(auth.split("Credential=", 1)[-1].split("/", 1)[0])
            body = json.loads(raw or b"{}")
            status, out = 200, fake.handle(self.headers.get("X-Amz-Target", ""), body)
        except ApiError as exc:
            status, out = exc.status, {"__type": exc.code, "message": exc.message}
        except Exception as exc:  # a bug in the fake: answer like an internal error
            status, out = 500, {"__type": "InternalFailure", "message": repr(exc)}
        data = json.dumps(out, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "fake")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


