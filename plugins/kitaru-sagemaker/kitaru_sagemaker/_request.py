"""The CreateTrainingJob request for a JobSpec: the runtime command as the container entrypoint."""

from __future__ import annotations

import re
import secrets
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.plugins import JobSpec

from kitaru_sagemaker._config import SageMakerOrchestratorConfig
from kitaru_sagemaker._policy import JOB_PREFIX

JOB_NAME = re.compile(r"^kitaru-[a-zA-Z0-9](-*[a-zA-Z0-9]){0,55}$")
MAX_ENV = 48
MAX_ENV_VALUE = 512
MAX_ARG = 256


def job_name(exec_id: str) -> str:
    """`kitaru-<exec id, sanitised>-<8 hex>`: unique per submit, at most 63 characters (SageMaker's limit)."""
    safe = re.sub(r"-+", "-", re.sub(r"[^a-zA-Z0-9]", "-", exec_id)).strip("-")[:46].strip("-") or "job"
    return f"{JOB_PREFIX}{safe}-{secrets.token_hex(4)}"


def build_request(job: JobSpec, name: str, config: SageMakerOrchestratorConfig) -> dict[str, Any]:
    """The request body; KitaruUsageError for what SageMaker would refuse (no image, too many variables, ...)."""
    image = job.image or config.image
    if not image:
        raise KitaruUsageError("the sagemaker orchestrator needs an image: set `image` on the stack's orchestrator"
                               " (an ECR image with Kitaru installed; `kitaru build` makes one)")
    if not job.command:
        raise KitaruUsageError("the job has no command")
    too_long = [a for a in job.command if len(a) > MAX_ARG]
    if too_long:
        raise KitaruUsageError(f"SageMaker limits each entrypoint argument to {MAX_ARG} characters;"
                               f" {too_long[0][:40]!r}... is {len(too_long[0])}")
    env = {**config.environment, **job.env}
    if len(env) > MAX_ENV:
        raise KitaruUsageError(f"SageMaker allows {MAX_ENV} environment variables; this job has {len(env)}:"
                               " remove some from the orchestrator's `environment`")
    long_values = [k for k, v in env.items() if len(v) > MAX_ENV_VALUE]
    if long_values:
        raise KitaruUsageError(f"environment variable {long_values[0]} is longer than {MAX_ENV_VALUE} characters")
    algo: dict[str, Any] = {"TrainingImage": image, "TrainingInputMode": "File",
                            "ContainerEntrypoint": [job.command[0]]}
    if len(job.command) > 1:
        algo["ContainerArguments"] = list(job.command[1:])
    output: dict[str, Any] = {"S3OutputPath": config.output_path}
    if config.output_kms_key_id:
        output["KmsKeyId"] = config.output_kms_key_id
    resources: dict[str, Any] = {"InstanceType": config.instance_type, "InstanceCount": config.instance_count,
                                 "VolumeSizeInGB": config.volume_size_gb}
    if config.volume_kms_key_id:
        resources["VolumeKmsKeyId"] = config.volume_kms_key_id
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": config.max_runtime_seconds}
    tags = {**config.tags, "kitaru:execution": job.exec_id[:256]}
    request: dict[str, Any] = {
        "TrainingJobName": name, "AlgorithmSpecification": algo, "RoleArn": config.role_arn,
        "OutputDataConfig": output, "ResourceConfig": resources, "StoppingCondition": stopping,
        "Environment": env, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        "EnableManagedSpotTraining": config.use_spot,
    }
    if config.use_spot:
        stopping["MaxWaitTimeInSeconds"] = config.max_wait_seconds or config.max_runtime_seconds
        if config.checkpoint_s3_uri:
            request["CheckpointConfig"] = {"S3Uri": config.checkpoint_s3_uri}
    if config.subnets:
        request["VpcConfig"] = {"Subnets": list(config.subnets), "SecurityGroupIds": list(config.security_group_ids)}
    return request
