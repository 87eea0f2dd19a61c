"""A Job's lifecycle from its conditions and its pod's phase, conditions and container states."""

from __future__ import annotations

from typing import Any

from kitaru.plugins import JobStatus

# waiting reasons that never resolve by themselves: the execution fails with the reason
FATAL_WAITING = {"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerError",
                 "CrashLoopBackOff", "RunContainerError"}


def gone_status(name: str, cancelled: bool) -> JobStatus:
    """The Job no longer exists: cancelled by us, or deleted by someone (or its TTL after finishing)."""
    if cancelled:
        return JobStatus("cancelled", f"Job {name} was deleted by cancel")
    return JobStatus("failed", f"Job {name} was deleted (by someone else, or by ttlSecondsAfterFinished after it"
                               " finished); its outcome is unknown")


def job_status(job: Any, pods: list[Any], *, cancelled: bool = False) -> JobStatus:
    """pending / running / succeeded / failed / cancelled, with the Kubernetes reason in `message`."""
    name = job.metadata.name
    if job.metadata.deletion_timestamp is not None:
        return gone_status(name, cancelled)
    pod = _latest(pods)
    terminated = _terminated(pod)
    exit_code = terminated.exit_code if terminated is not None else None
    for cond in (job.status.conditions or []) if job.status else []:
        if cond.status != "True":
            continue
        if cond.type in ("Complete", "SuccessCriteriaMet"):
            return JobStatus("succeeded", "Job completed", exit_code if exit_code is not None else 0)
        if cond.type in ("Failed", "FailureTarget"):
            why = _pod_failure(pod) or (f"exit code {exit_code}" if exit_code is not None else None)
            reason = cond.reason or "Failed"
            detail = f": {why}" if why and why not in (cond.message or "") else ""
            return JobStatus("failed", f"{reason}: {cond.message or 'the Job failed'}{detail}", exit_code)
    if pod is None:
        return JobStatus("pending", "waiting for the Job controller to create a pod")
    phase = pod.status.phase if pod.status else None
    if phase == "Succeeded":
        return JobStatus("succeeded", "pod succeeded", exit_code if exit_code is not None else 0)
    if phase == "Failed":
        return JobStatus("failed", _pod_failure(pod) or "pod failed", exit_code)
    waiting = _waiting(pod)
    if waiting is not None and waiting.reason in FATAL_WAITING:
        return JobStatus("failed", f"{waiting.reason}: {waiting.message or ''}".rstrip(": "))
    if phase == "Running":
        return JobStatus("running", f"pod {pod.metadata.name} running")
    return JobStatus("pending", pending_reason(pod))


def pending_reason(pod: Any) -> str:
    """Why a pod has not started: unschedulable, pulling the image, waiting for a Secret, ..."""
    waiting = _waiting(pod)
    if waiting is not None and waiting.reason:
        return f"{waiting.reason}: {waiting.message or ''}".rstrip(": ")
    for cond in (pod.status.conditions or []) if pod.status else []:
        if cond.type == "PodScheduled" and cond.status != "True":
            return f"{cond.reason or 'Unscheduled'}: {cond.message or 'waiting to be scheduled'}"
    return f"pod {pod.metadata.name} pending"


def _latest(pods: list[Any]) -> Any:
    if not pods:
        return None
    return max(pods, key=lambda p: (p.metadata.creation_timestamp is not None, p.metadata.creation_timestamp or 0,
                                    p.metadata.name))


def _container_statuses(pod: Any) -> list[Any]:
    return list((pod.status.container_statuses or []) if pod is not None and pod.status else [])


def _terminated(pod: Any) -> Any:
    for cs in _container_statuses(pod):
        if cs.state and cs.state.terminated:
            return cs.state.terminated
    return None


def _waiting(pod: Any) -> Any:
    for cs in _container_statuses(pod):
        if cs.state and cs.state.waiting:
            return cs.state.waiting
    return None


def _pod_failure(pod: Any) -> str | None:
    """OOMKilled / Evicted / exit code: the most specific reason a pod failed."""
    if pod is None:
        return None
    if pod.status and pod.status.reason:  # Evicted, DeadlineExceeded
        return f"{pod.status.reason}: {pod.status.message or ''}".rstrip(": ")
    terminated = _terminated(pod)
    if terminated is not None:
        reason = terminated.reason or "Error"
        detail = f": {terminated.message}" if terminated.message else ""
        return f"{reason} (exit code {terminated.exit_code}){detail}"
    waiting = _waiting(pod)
    if waiting is not None and waiting.reason:
        return f"{waiting.reason}: {waiting.message or ''}".rstrip(": ")
    return None
