"""boto3 clients with retries (standard mode: throttling and 5xx, exponential backoff)."""

from __future__ import annotations

import os
from typing import Any

from kitaru_s3._config import AWSAccess


def region_of(config: AWSAccess) -> str:
    """The configured region, else the ambient one, else us-east-1."""
    return config.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(service: str, config: AWSAccess, *, endpoint_url: str | None = None, **extra: Any) -> Any:
    """A boto3 client acting as the configured identity (explicit keys, else the ambient chain)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=config.aws_access_key_id, aws_secret_access_key=config.aws_secret_access_key,
        aws_session_token=config.aws_session_token, region_name=region_of(config),
    )
    botocfg = Config(retries={"max_attempts": config.max_attempts, "mode": "standard"}, connect_timeout=10,
                     read_timeout=60, request_checksum_calculation="when_required",
                     response_checksum_validation="when_required", **extra)
    return session.client(service, endpoint_url=endpoint_url or config.endpoint_url, config=botocfg)
