"""Pydantic config models of the `gcs` artifact store and `gcp` (Artifact Registry) registry flavors."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

MiB = 1 << 20
CHUNK_MULTIPLE = 256 * 1024  # resumable upload chunks must be multiples of 256 KiB
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_GAR = re.compile(r"^([a-z0-9-]+)-docker\.pkg\.dev/([a-z][a-z0-9-]{4,28}[a-z0-9]|[a-z0-9.:-]+)/([a-z0-9][a-z0-9._-]*)"
                  r"(?:/[a-z0-9._/-]+)?$")
_SECRET: JsonDict = {"kitaru_secret": True}
_STS = "https://sts.googleapis.com/v1/token"


class GCPAccess(BaseModel):
    """Who the component acts as: a service-account key (a secret reference) or the ambient Google identity."""

    model_config = ConfigDict(extra="forbid")

    project: str | None = None
    service_account_key: str | None = Field(default=None, json_schema_extra=_SECRET)
    anonymous: bool = False  # emulators only: send no credentials


class GCSArtifactStoreConfig(GCPAccess):
    """`path: gs://bucket/prefix`; minted credentials are downscoped to the bucket and that prefix."""

    path: str
    endpoint_url: str | None = None
    sts_endpoint_url: str = _STS
    resumable_threshold: int = Field(default=8 * MiB, ge=CHUNK_MULTIPLE, le=512 * MiB)
    chunk_size: int = Field(default=8 * MiB, ge=CHUNK_MULTIPLE, le=512 * MiB)
    retry_deadline: float = Field(default=120.0, gt=0, le=3600)
    timeout: float = Field(default=60.0, gt=0, le=600)

    @field_validator("path")
    @classmethod
    def _gs_uri(cls, value: str) -> str:
        if not value.startswith("gs://"):
            raise ValueError("must be a gs:// URI, e.g. gs://my-bucket/kitaru")
        bucket, _, prefix = value[5:].partition("/")
        if not _BUCKET.match(bucket) or ".." in bucket or bucket.startswith("goog"):
            raise ValueError(f"{bucket!r} is not a valid GCS bucket name")
        if any(c in prefix for c in "*?'\"\\\n\r\0") or ".." in prefix.split("/"):
            raise ValueError("the prefix must not contain '*', '?', quotes, backslashes or '..'")
        return f"gs://{bucket}/{prefix.strip('/')}".rstrip("/")

    @field_validator("chunk_size")
    @classmethod
    def _multiple(cls, value: int) -> int:
        if value % CHUNK_MULTIPLE:
            raise ValueError(f"must be a multiple of 256 KiB ({CHUNK_MULTIPLE} bytes)")
        return value


class GCPRegistryConfig(GCPAccess):
    """`uri: REGION-docker.pkg.dev/PROJECT/REPO`; pull/push tokens may come from narrower service accounts."""

    uri: str
    reader_service_account: str | None = None
    writer_service_account: str | None = None
    token_lifetime: int = Field(default=3600, ge=300, le=3600)
    iam_endpoint_url: str | None = None

    @field_validator("uri")
    @classmethod
    def _gar_uri(cls, value: str) -> str:
        value = value.removeprefix("https://").rstrip("/")
        if not _GAR.match(value):
            raise ValueError("must look like europe-west1-docker.pkg.dev/my-project/my-repo")
        return value
