"""Helpers shared by the kitaru-s3 tests (moto clients and stack configs)."""

from __future__ import annotations

from typing import Any

ROOT_CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


def boto(service: str, url: str, **creds: str) -> Any:
    """A boto3 client for moto (root test identity unless `creds` are given)."""
    import boto3

    return boto3.client(service, endpoint_url=url, region_name=REGION, **(creds or ROOT_CREDS))


def s3_config(url: str, bucket: str, **extra: object) -> dict[str, object]:
    """An `s3` artifact store config against moto."""
    return {"flavor": "s3", "path": f"s3://{bucket}/kitaru", "endpoint_url": url, "region": REGION, **extra}


def make_store(url: str, bucket: str, role: str | None = None, **extra: Any) -> Any:
    """An S3ArtifactStore on moto under `s3://bucket/kitaru` (root test identity)."""
    from kitaru_s3._config import S3ArtifactStoreConfig
    from kitaru_s3._store import S3ArtifactStore

    return S3ArtifactStore(S3ArtifactStoreConfig(
        path=f"s3://{bucket}/kitaru", endpoint_url=url, region=REGION, aws_access_key_id="testing",
        aws_secret_access_key="testing", role_arn=role, **extra))
