"""Pydantic config models of the `s3` artifact store and `ecr` registry flavors."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

MiB = 1 << 20
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ECR = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?:/[a-z0-9._/-]+)?$")
_SECRET: JsonDict = {"kitaru_secret": True}


class AWSAccess(BaseModel):
    """Who the component acts as: explicit keys (secret references) or the ambient AWS identity."""

    model_config = ConfigDict(extra="forbid")

    region: str | None = None
    endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = Field(default=None, json_schema_extra=_SECRET)
    aws_session_token: str | None = Field(default=None, json_schema_extra=_SECRET)
    max_attempts: int = Field(default=8, ge=1, le=20)


class S3ArtifactStoreConfig(AWSAccess):
    """`path: s3://bucket/prefix`; `role_arn` is assumed (with a prefix-scoped policy) to mint credentials."""

    path: str
    role_arn: str | None = None
    sts_endpoint_url: str | None = None
    multipart_threshold: int = Field(default=8 * MiB, ge=5 * MiB)
    multipart_chunksize: int = Field(default=8 * MiB, ge=5 * MiB, le=5 * 1024 * MiB)
    addressing_style: Literal["auto", "virtual", "path"] = "auto"

    @field_validator("path")
    @classmethod
    def _s3_uri(cls, value: str) -> str:
        if not value.startswith("s3://"):
            raise ValueError("must be an s3:// URI, e.g. s3://my-bucket/kitaru")
        bucket, _, prefix = value[5:].partition("/")
        if not _BUCKET.match(bucket):
            raise ValueError(f"{bucket!r} is not a valid S3 bucket name")
        if any(c in prefix for c in "*?") or ".." in prefix.split("/"):
            raise ValueError("the prefix must not contain '*', '?' or '..'")
        return f"s3://{bucket}/{prefix.strip('/')}".rstrip("/")


class ECRConfig(AWSAccess):
    """`uri: <account>.dkr.ecr.<region>.amazonaws.com[/namespace]`."""

    uri: str

    @field_validator("uri")
    @classmethod
    def _ecr_uri(cls, value: str) -> str:
        value = value.removeprefix("https://").rstrip("/")
        if not _ECR.match(value):
            raise ValueError("must look like 123456789012.dkr.ecr.eu-west-1.amazonaws.com[/namespace]")
        return value


def ecr_account_and_region(uri: str) -> tuple[str, str]:
    """The AWS account id and region encoded in an ECR registry URI."""
    match = _ECR.match(uri)
    assert match is not None
    return match.group(1), match.group(2)
