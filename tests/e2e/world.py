"""The world every cloud end-to-end test runs in (Kubernetes, Vertex AI, SageMaker): moto S3 with a new bucket, a
real server on PostgreSQL that brokers credentials, and this process connected to it as an admin with no cloud
credentials of its own. Each test file adds its fake control plane and registers its stack."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ContextManager

import httpx
import pytest

from kitaru.testing import LocalServer
from tests.e2e.moto import ROOT_CREDS, boto, moto_server
from tests.server.support import pg_database
from tests.support import ROOT, http

DISPATCH_GRACE = "3"
"""A dispatched runner's time to take its lease once its job is recorded (default 15 s, for real clusters): a job that
never starts (an image that cannot be pulled) fails after it; one still starting is kept by its orchestrator's answer."""


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """One moto (S3, STS, IAM) per test module; each world makes its own bucket in it."""
    with moto_server() as url:
        yield url


@contextlib.contextmanager
def cloud_world(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch,
                control_plane: Callable[[dict[str, str]], ContextManager[Any]], name: str,
                job_env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """A new bucket, a server on a new PostgreSQL database and `control_plane(base_env)` (the fake cloud, whose
    jobs start with base_env plus `job_env`), with this process connected to the server and stripped of AWS and
    kube credentials. Yields {"server", "bucket", "marks", "moto", name: the control plane}; `marks` is the file
    the flows of tests/e2e/flows.py append their progress to."""
    bucket = f"kitaru-{uuid.uuid4().hex[:10]}"
    boto("s3", moto_url).create_bucket(Bucket=bucket)
    marks = tmp_path / "marks.txt"
    marks.touch()
    nowhere = str(tmp_path / "none")
    base_env = {"PYTHONPATH": str(ROOT), "MARKS": str(marks), "KITARU_LEASE_TTL": "2", "SLOW": "0",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": nowhere,
                "AWS_CONFIG_FILE": nowhere, **(job_env or {})}
    url, drop = pg_database()
    server_env = {"AWS_ACCESS_KEY_ID": ROOT_CREDS["aws_access_key_id"],
                  "AWS_SECRET_ACCESS_KEY": ROOT_CREDS["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1",
                  "KITARU_JOB_GRACE": "1", "KITARU_CANCEL_GRACE": "0.5", "KITARU_DISPATCH_GRACE": DISPATCH_GRACE}
    try:
        with control_plane(base_env) as plane, LocalServer(url, tmp_path / "server-home", env=server_env) as server:
            for var in [v for v in os.environ if v.startswith("AWS_")]:
                monkeypatch.delenv(var)
            monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
            monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", nowhere)
            monkeypatch.setenv("AWS_CONFIG_FILE", nowhere)
            monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
            monkeypatch.setenv("MARKS", str(marks))
            monkeypatch.setenv("KITARU_DISPATCH_GRACE", DISPATCH_GRACE)
            monkeypatch.setenv("KITARU_SERVER_URL", server.url)
            monkeypatch.setenv("KITARU_API_KEY", server.admin_key)
            yield {"server": server, "bucket": bucket, "marks": marks, "moto": moto_url, name: plane}
    finally:
        drop()  # type: ignore[operator]


def answer_as_a_member(server: LocalServer, exec_id: str, invocation_id: str = "ok") -> httpx.Response:
    """A new member, `reviewer`, approves the execution's pending wait through the API (not the flow's owner:
    the server must dispatch the continuation itself)."""
    admin = {"Authorization": f"Bearer {server.token()}"}
    http.post(f"{server.url}/api/v1/users", json={"name": "reviewer", "role": "member"}, headers=admin,
              timeout=10).raise_for_status()
    key = http.post(f"{server.url}/api/v1/api-keys", json={"name": "k", "principal": "reviewer"}, headers=admin,
                    timeout=10).json()["api_key"]
    token = http.post(f"{server.url}/api/v1/auth/token", json={"api_key": key}, timeout=10).json()["access_token"]
    return http.post(f"{server.url}/api/v1/executions/{exec_id}/waits/resolve",
                     json={"invocation_id": invocation_id, "status": "answered", "answer": True},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)
