"""Pydantic config model of the `vertex` orchestrator flavor (stack YAML `orchestrator:` section)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

_SECRET: JsonDict = {"kitaru_secret": True}
_REGION = re.compile(r"^[a-z]+-[a-z]+\d+$")
_PROJECT = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$|^\d+$")
_EMAIL = re.compile(r"^[a-z0-9][-a-z0-9]*@[-a-z0-9.]+\.iam\.gserviceaccount\.com$|^[^@\s]+@[^@\s]+\.[a-z]+$")
_LABEL_KEY = re.compile(r"^[a-z][-_a-z0-9]{0,62}$")
_LABEL_VALUE = re.compile(r"^[-_a-z0-9]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KMS = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
_NETWORK = re.compile(r"^projects/[^/]+/global/networks/[^/]+$")
_ACCELERATOR = re.compile(r"^(NVIDIA|TPU)_[A-Z0-9_]+$")
_ENDPOINT = re.compile(r"^(https?://)?[A-Za-z0-9.-]+(:\d+)?$")


class VertexOrchestratorConfig(BaseModel):
    """Where and how CustomJobs run; `access_token` only for tests and fakes (else ambient or brokered identity)."""

    model_config = ConfigDict(extra="forbid")

    project: str
    region: str
    image: str | None = None
    machine_type: str = "n1-standard-4"
    accelerator_type: str | None = None
    accelerator_count: int = Field(default=0, ge=0, le=16)
    replica_count: int = Field(default=1, ge=1)
    boot_disk_type: str = "pd-ssd"
    boot_disk_size_gb: int = Field(default=100, ge=100, le=64000)
    service_account: str | None = None
    network: str | None = None
    reserved_ip_ranges: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    encryption_key: str | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)
    env: dict[str, str] = Field(default_factory=dict)
    dispatch_service_account: str | None = None
    access_token: str | None = Field(default=None, json_schema_extra=_SECRET)
    api_endpoint: str | None = None
    iam_endpoint: str = "https://iamcredentials.googleapis.com"
    logging_endpoint: str = "https://logging.googleapis.com"
    request_timeout: float = Field(default=30.0, gt=0, le=600)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("must be a Vertex AI region such as us-central1 or europe-west4")
        return value

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not _PROJECT.match(value):
            raise ValueError("must be a Google Cloud project id (6-30 lowercase letters, digits, '-') or number")
        return value

    @field_validator("accelerator_type")
    @classmethod
    def _accelerator(cls, value: str | None) -> str | None:
        if value is not None and not _ACCELERATOR.match(value):
            raise ValueError("must be a Vertex AI accelerator type such as NVIDIA_TESLA_T4, NVIDIA_L4 or TPU_V5_LITEPOD")
        return value

    @field_validator("replica_count")
    @classmethod
    def _replicas(cls, value: int) -> int:
        if value != 1:
            raise ValueError("must be 1: a Kitaru runner is one process that holds the execution's lease; more"
                             " replicas would run the same flow twice (fan out with isolated checkpoints instead)")
        return value

    @field_validator("service_account", "dispatch_service_account")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("must be a service account e-mail, e.g. runner@PROJECT.iam.gserviceaccount.com")
        return value

    @field_validator("network")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        if value is not None and not _NETWORK.match(value):
            raise ValueError("must be the full network name: projects/PROJECT_NUMBER/global/networks/NAME")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _kms(cls, value: str | None) -> str | None:
        if value is not None and not _KMS.match(value):
            raise ValueError("must be a Cloud KMS key: projects/P/locations/L/keyRings/R/cryptoKeys/K")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            if not _LABEL_KEY.match(key) or not _LABEL_VALUE.match(val):
                raise ValueError(f"label {key}={val!r}: keys start with a lowercase letter; keys and values use"
                                 " lowercase letters, digits, '-' and '_' (at most 63 characters)")
        if len(value) > 60:
            raise ValueError("at most 60 labels (Kitaru adds a few of its own)")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not _ENV_NAME.match(k)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a valid environment variable name")
        return value

    @field_validator("api_endpoint", "iam_endpoint", "logging_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not _ENDPOINT.match(value.rstrip("/")):
            raise ValueError("must be a host[:port] or an http(s)://host[:port] URL")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _accelerators(self) -> VertexOrchestratorConfig:
        if bool(self.accelerator_type) != bool(self.accelerator_count):
            raise ValueError("give `accelerator_type` and `accelerator_count` together (e.g. NVIDIA_TESLA_T4 and 1)")
        return self

    @property
    def endpoint(self) -> str:
        """The JobService endpoint: `api_endpoint`, else the regional one."""
        return self.api_endpoint or f"{self.region}-aiplatform.googleapis.com"
