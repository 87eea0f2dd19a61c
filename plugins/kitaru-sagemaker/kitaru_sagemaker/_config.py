"""Pydantic config model of the `sagemaker` orchestrator flavor (stack YAML `orchestrator:` section)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

_SECRET: JsonDict = {"kitaru_secret": True}
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,511}$")
_SUBNET = re.compile(r"^subnet-[0-9a-z]+$")
_SG = re.compile(r"^sg-[0-9a-z]+$")
MAX_RUNTIME_LIMIT = 28 * 24 * 3600  # SageMaker's cap on MaxRuntimeInSeconds


class SageMakerOrchestratorConfig(BaseModel):
    """Where and how training jobs run; who the server acts as (explicit keys or the ambient AWS identity)."""

    model_config = ConfigDict(extra="forbid")

    role_arn: str  # the execution role the training job runs as (iam:PassRole'd by the dispatcher)
    output_path: str  # S3OutputPath (SageMaker requires one; Kitaru writes nothing there itself)
    image: str | None = None
    instance_type: str = "ml.m5.large"
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    volume_kms_key_id: str | None = None
    output_kms_key_id: str | None = None
    max_runtime_seconds: int = Field(default=86400, ge=1, le=MAX_RUNTIME_LIMIT)
    subnets: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    environment: dict[str, str] = Field(default_factory=dict)
    use_spot: bool = False
    max_wait_seconds: int | None = Field(default=None, ge=1, le=MAX_RUNTIME_LIMIT)
    checkpoint_s3_uri: str | None = None
    token_delivery: Literal["environment", "secretsmanager"] = Field(default="environment",
                                                                    json_schema_extra={"kitaru_secret": False})
    dispatch_role_arn: str | None = None  # assumed by the server (with a session policy) to mint dispatch creds
    region: str | None = None
    endpoint_url: str | None = None
    logs_endpoint_url: str | None = None
    sts_endpoint_url: str | None = None
    secrets_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = Field(default=None, json_schema_extra=_SECRET)
    aws_session_token: str | None = Field(default=None, json_schema_extra=_SECRET)
    max_attempts: int = Field(default=5, ge=1, le=20)

    @field_validator("role_arn", "dispatch_role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and not _ROLE_ARN.match(value):
            raise ValueError("must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/kitaru-jobs")
        return value

    @field_validator("output_path", "checkpoint_s3_uri")
    @classmethod
    def _s3(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", value):
            raise ValueError("must be an s3://bucket/prefix URI")
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not re.match(r"^ml\.[a-z0-9]+\.[a-z0-9]+$", value):
            raise ValueError("must be a SageMaker instance type, e.g. ml.m5.large")
        return value

    @field_validator("subnets")
    @classmethod
    def _subnets(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if not _SUBNET.match(s)]
        if bad or len(value) > 16:
            raise ValueError(f"{bad[0]!r} is not a subnet id (subnet-...)" if bad else "at most 16 subnets")
        return value

    @field_validator("security_group_ids")
    @classmethod
    def _sgs(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if not _SG.match(s)]
        if bad or len(value) > 5:
            raise ValueError(f"{bad[0]!r} is not a security group id (sg-...)" if bad else "at most 5 security groups")
        return value

    @field_validator("environment")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not _ENV_NAME.match(k)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a valid environment variable name")
        if len(value) > 40:
            raise ValueError("SageMaker allows at most 48 environment variables (Kitaru needs 8)")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 40:
            raise ValueError("at most 40 tags (SageMaker allows 50; Kitaru adds its own)")
        for key in value:
            if key.startswith("aws:") or not 1 <= len(key) <= 128:
                raise ValueError(f"tag key {key!r}: 1-128 characters, not starting with 'aws:'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SageMakerOrchestratorConfig:
        if bool(self.subnets) != bool(self.security_group_ids):
            raise ValueError("VPC config needs both `subnets` and `security_group_ids` (or neither)")
        if not self.use_spot and (self.max_wait_seconds or self.checkpoint_s3_uri):
            raise ValueError("`max_wait_seconds` and `checkpoint_s3_uri` apply only with `use_spot: true`")
        if self.use_spot and self.max_wait_seconds is not None and self.max_wait_seconds < self.max_runtime_seconds:
            raise ValueError("`max_wait_seconds` must be at least `max_runtime_seconds` (SageMaker's rule)")
        if self.aws_secret_access_key and not self.aws_access_key_id:
            raise ValueError("`aws_secret_access_key` needs `aws_access_key_id`")
        return self
