"""Moto in server mode (S3, STS, IAM) in a child process on loopback, for end-to-end tests."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

ROOT_CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_SERVER = """
import sys
from moto.server import ThreadedMotoServer
srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
srv.start()
host, port = srv.get_host_and_port()
print(f"MOTO_URL=http://{host}:{port}", flush=True)
sys.stdin.read()
srv.stop()
"""


@contextlib.contextmanager
def moto_server(timeout: float = 60) -> Iterator[str]:
    """Start moto; yield its endpoint URL; stop it when the block ends (bounded waits throughout)."""
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        url = next((line.strip().removeprefix("MOTO_URL=") for line in proc.stdout  # type: ignore[union-attr]
                    if line.startswith("MOTO_URL=")), None)
        watchdog.cancel()
        if url is None:
            raise RuntimeError("moto server did not start (pip install 'moto[server]')")
        yield url
    finally:
        watchdog.cancel()
        proc.stdin.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def assumable_role(url: str, name: str) -> str:
    """A new IAM role on moto that anyone may assume (a store's or a dispatcher's `role_arn`); its ARN."""
    import json
    import uuid

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                     "Action": "sts:AssumeRole"}]}
    return str(boto("iam", url).create_role(RoleName=f"{name}-{uuid.uuid4().hex[:8]}",
                                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def boto(service: str, url: str) -> Any:
    """A boto3 client for moto as its root test identity."""
    import boto3

    return boto3.client(service, endpoint_url=url, region_name="us-east-1", **ROOT_CREDS)
