"""The CustomJob the plugin creates (official `aiplatform_v1` models) and a JobStatus from its state."""

from __future__ import annotations

import re
import uuid
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.plugins import JobSpec, JobStatus
from kitaru_vertex._config import VertexOrchestratorConfig

EXEC_LABEL = "kitaru-execution"
MANAGED_BY = {"managed-by": "kitaru"}
JOB_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/customJobs/(?P<id>\d{1,30})$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PENDING = {"JOB_STATE_UNSPECIFIED", "JOB_STATE_QUEUED", "JOB_STATE_PENDING"}
RUNNING = {"JOB_STATE_RUNNING", "JOB_STATE_PAUSED", "JOB_STATE_UPDATING", "JOB_STATE_CANCELLING"}
FAILED = {"JOB_STATE_FAILED", "JOB_STATE_EXPIRED", "JOB_STATE_PARTIALLY_SUCCEEDED"}


def display_name(exec_id: str) -> str:
    """`kitaru-<exec id slug>-<8 hex>`: readable in the console, unique per submit."""
    slug = re.sub(r"[^a-z0-9-]+", "-", exec_id.lower()).strip("-")[:60].strip("-") or "job"
    return f"kitaru-{slug}-{uuid.uuid4().hex[:8]}"


def label_value(value: str) -> str:
    """A valid label value (lowercase letters, digits, '-', '_'; at most 63 characters)."""
    return re.sub(r"[^-_a-z0-9]+", "-", value.lower())[:63]


def build_custom_job(job: JobSpec, config: VertexOrchestratorConfig) -> Any:
    """The `aiplatform_v1.CustomJob` running `job.command` in one replica of worker pool 0.

    JobSpec.env (server URL, the execution-scoped token) goes into the container's env: CustomJobs have no
    secret env sources (see the README, "How the execution token reaches the job").
    """
    from google.cloud import aiplatform_v1 as v1

    image = job.image or config.image
    if not image:
        raise KitaruUsageError("no image for the Vertex AI job: set the stack's orchestrator `image` or build one"
                               " with `kitaru build`")
    if not job.command:
        raise KitaruUsageError("the job has no command")
    env = {**config.env, **job.env}
    bad = [k for k in env if not _ENV_NAME.match(k)]
    if bad:
        raise KitaruUsageError(f"{bad[0]!r} is not a valid environment variable name for a Vertex AI container")
    machine = v1.MachineSpec(machine_type=config.machine_type)
    if config.accelerator_type:
        try:
            machine.accelerator_type = v1.AcceleratorType.__members__[config.accelerator_type]
        except KeyError:
            raise KitaruUsageError(f"accelerator_type {config.accelerator_type!r} is not one google-cloud-aiplatform"
                                   " knows; see `gcloud ai custom-jobs` docs for the names, or upgrade the package"
                                   ) from None
        machine.accelerator_count = config.accelerator_count
    pool = v1.WorkerPoolSpec(
        machine_spec=machine, replica_count=config.replica_count,
        disk_spec=v1.DiskSpec(boot_disk_type=config.boot_disk_type, boot_disk_size_gb=config.boot_disk_size_gb),
        container_spec=v1.ContainerSpec(image_uri=image, command=list(job.command),
                                        env=[v1.EnvVar(name=k, value=v) for k, v in sorted(env.items())]),
    )
    spec = v1.CustomJobSpec(worker_pool_specs=[pool])
    if config.service_account:
        spec.service_account = config.service_account
    if config.network:
        spec.network = config.network
    if config.reserved_ip_ranges:
        spec.reserved_ip_ranges = list(config.reserved_ip_ranges)
    if config.timeout_seconds:
        spec.scheduling = v1.Scheduling(timeout=f"{config.timeout_seconds}s")
    custom = v1.CustomJob(display_name=display_name(job.exec_id), job_spec=spec,
                          labels={**config.labels, **MANAGED_BY, EXEC_LABEL: label_value(job.exec_id)})
    if config.encryption_key:
        custom.encryption_spec = v1.EncryptionSpec(kms_key_name=config.encryption_key)
    return custom


def job_status(job: Any, *, cancelled: bool = False) -> JobStatus:
    """pending / running / succeeded / failed / cancelled from `job.state`, with Vertex's own message."""
    state = job.state.name
    name = job.name.rsplit("/", 1)[-1]
    error = job.error.message if job.error and job.error.message else ""
    if state in PENDING:
        return JobStatus("pending", f"CustomJob {name} {state.removeprefix('JOB_STATE_').lower()}"
                                    " (waiting for resources or the image)")
    if state in RUNNING:
        return JobStatus("running", f"CustomJob {name} {state.removeprefix('JOB_STATE_').lower()}")
    if state == "JOB_STATE_SUCCEEDED":
        return JobStatus("succeeded", f"CustomJob {name} succeeded", 0)
    if state == "JOB_STATE_CANCELLED":
        return JobStatus("cancelled", f"CustomJob {name} was cancelled" + ("" if cancelled else " (not by Kitaru)"))
    if state in FAILED:
        why = error or ("the job expired before it could run" if state == "JOB_STATE_EXPIRED" else "the job failed")
        return JobStatus("failed", f"{state.removeprefix('JOB_STATE_')}: {why}", _exit_code(why))
    return JobStatus("pending", f"CustomJob {name} in state {state}")


def _exit_code(message: str) -> int | None:
    match = re.search(r"non-zero status of (\d+)", message)
    return int(match.group(1)) if match else None
