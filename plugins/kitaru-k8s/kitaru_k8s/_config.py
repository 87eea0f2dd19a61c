"""Pydantic config model of the `kubernetes` orchestrator flavor (stack YAML `orchestrator:` section)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

from kitaru_k8s._models import to_model

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SECRET: JsonDict = {"kitaru_secret": True}


class PodSettings(BaseModel):
    """What goes into every Job's pod: Kubernetes-shaped values (camelCase inside, as in a manifest)."""

    model_config = ConfigDict(extra="forbid")

    resources: dict[str, Any] | None = None
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    affinity: dict[str, Any] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    volumes: list[dict[str, Any]] = Field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("resources")
    @classmethod
    def _resources(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            to_model(value, "V1ResourceRequirements")
        return value

    @field_validator("tolerations")
    @classmethod
    def _tolerations(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        to_model(value, "list[V1Toleration]")
        return value

    @field_validator("affinity")
    @classmethod
    def _affinity(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            to_model(value, "V1Affinity")
        return value

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for volume in to_model(value, "list[V1Volume]"):
            if not volume.name:
                raise ValueError("every volume needs a `name`")
        return value

    @field_validator("volume_mounts")
    @classmethod
    def _mounts(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for mount in to_model(value, "list[V1VolumeMount]"):
            if not mount.name or not mount.mount_path:
                raise ValueError("every volume mount needs `name` and `mountPath`")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not _ENV_NAME.match(k)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a valid environment variable name")
        return value

    @model_validator(mode="after")
    def _mounts_name_volumes(self) -> PodSettings:
        names = {v["name"] for v in self.volumes}
        for mount in self.volume_mounts:
            if mount["name"] not in names:
                raise ValueError(f"volume_mounts: {mount['name']!r} is not one of the volumes ({sorted(names)})")
        return self


class KubernetesOrchestratorConfig(BaseModel):
    """Where and how Jobs run. Connection: `host`+`token`, else in-cluster, else a kubeconfig `context`."""

    model_config = ConfigDict(extra="forbid")

    namespace: str
    context: str | None = None
    kubeconfig: str | None = None
    host: str | None = None
    token: str | None = Field(default=None, json_schema_extra=_SECRET)
    certificate_authority_data: str | None = None
    verify_ssl: bool = True
    image: str | None = None
    service_account: str | None = None
    dispatch_service_account: str = "kitaru-dispatch"
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    image_pull_secrets: list[str] = Field(default_factory=list)
    pod_settings: PodSettings = Field(default_factory=PodSettings)
    active_deadline_seconds: int | None = Field(default=None, ge=1)
    ttl_seconds_after_finished: int | None = Field(default=3600, ge=0)
    request_timeout: float = Field(default=30.0, gt=0, le=600)
    cluster: str | None = None
    region: str | None = None

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError("must be a DNS label: lowercase letters, digits and '-', at most 63 characters")
        return value

    @field_validator("service_account", "dispatch_service_account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not _DNS_SUBDOMAIN.match(value):
            raise ValueError("must be a DNS subdomain: lowercase letters, digits, '-' and '.'")
        return value

    @field_validator("image_pull_secrets")
    @classmethod
    def _pull_secrets(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _DNS_SUBDOMAIN.match(name):
                raise ValueError(f"{name!r} is not a valid Secret name")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be the API server URL, e.g. https://10.0.0.1:6443")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _one_connection(self) -> KubernetesOrchestratorConfig:
        if self.host and (self.context or self.kubeconfig):
            raise ValueError("give either `host` (+ `token`) or `context`/`kubeconfig`, not both")
        if self.token and not self.host:
            raise ValueError("`token` needs `host` (the API server URL)")
        return self
