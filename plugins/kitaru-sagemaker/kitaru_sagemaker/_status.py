"""A training job's lifecycle from TrainingJobStatus / SecondaryStatus / FailureReason."""

from __future__ import annotations

from typing import Any

from kitaru.plugins import JobState, JobStatus

# SecondaryStatus values of an InProgress job before the container runs the runtime
PENDING_SECONDARY = {"Starting", "Pending", "Downloading", "LaunchingMLInstances", "PreparingTrainingStack",
                     "DownloadingTrainingImage"}


def job_status(desc: dict[str, Any]) -> JobStatus:
    """pending / running / succeeded / failed / cancelled, with SageMaker's status and reason in `message`."""
    name = desc.get("TrainingJobName", "?")
    status, secondary = desc.get("TrainingJobStatus"), desc.get("SecondaryStatus") or ""
    message = _last_message(desc)
    if status == "InProgress":
        state: JobState = "pending" if secondary in PENDING_SECONDARY else "running"
        return JobStatus(state, f"training job {name}: {secondary}" + (f" ({message})" if message else ""))
    if status == "Completed":
        return JobStatus("succeeded", f"training job {name} completed", 0)
    if status == "Failed":
        return JobStatus("failed", f"training job {name} failed: {desc.get('FailureReason') or message or 'no reason'}")
    if status in ("Stopping", "Stopped"):
        if secondary in ("MaxRuntimeExceeded", "MaxWaitTimeExceeded", "Interrupted"):
            return JobStatus("failed", f"training job {name} stopped: {secondary}"
                                       + (f" ({message})" if message else ""))
        return JobStatus("cancelled", f"training job {name} {status.lower()} (StopTrainingJob)")
    return JobStatus("pending", f"training job {name}: {status}/{secondary}")


def finished(desc: dict[str, Any]) -> bool:
    """Whether SageMaker considers the job over (nothing left to stop)."""
    return desc.get("TrainingJobStatus") in ("Completed", "Failed", "Stopped", "Stopping")


def _last_message(desc: dict[str, Any]) -> str:
    transitions = desc.get("SecondaryStatusTransitions") or []
    return str(transitions[-1].get("StatusMessage", "")) if transitions else ""
