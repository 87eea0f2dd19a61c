"""Moto in server mode on loopback (ThreadedMotoServer hosted in a child process, so memory measured by
tracemalloc in the test process is the client's only), plus a fresh Kitaru home per test."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_SERVER = """
import sys, time
from moto.server import ThreadedMotoServer
srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
srv.start()
host, port = srv.get_host_and_port()
print(f"MOTO_URL=http://{host}:{port}", flush=True)
sys.stdin.read()  # run until the parent closes stdin
srv.stop()
"""
from s3_helpers import REGION, boto


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The endpoint URL of a moto server (S3, STS, IAM, ECR) on 127.0.0.1 for the whole session."""
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = _read_line(proc, timeout=60)
        yield url
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """The server's URL line; the server is killed if it does not print it within `timeout`."""
    import threading

    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("MOTO_URL="):
                return line.strip().removeprefix("MOTO_URL=")
    finally:
        watchdog.cancel()
    raise RuntimeError("moto server did not start")


@pytest.fixture(scope="session")
def broker_role(moto_url: str) -> str:
    """A role the test identity may assume (used as the store's role_arn for minting)."""
    import json

    iam = boto("iam", moto_url)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                     "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName="kitaru-artifacts", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


@pytest.fixture
def bucket(moto_url: str) -> str:
    """A fresh bucket per test."""
    name = f"kitaru-{uuid.uuid4().hex[:12]}"
    boto("s3", moto_url).create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KITARU_HOME per test (kitaru.testing.isolated_home)."""
    from kitaru.testing import isolated_home

    with isolated_home(tmp_path, monkeypatch) as home:
        yield home


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
