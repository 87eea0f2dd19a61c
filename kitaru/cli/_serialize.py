"""`-o json` item shapes, as Kitaru 0.4's serializers write them (this project's extra fields kept)."""

from __future__ import annotations

from typing import Any

# fields of an execution summary that Kitaru 0.4 writes, in its order; our extras follow
_SUMMARY = ("exec_id", "flow_id", "flow_name", "status", "started_at", "ended_at", "stack_name", "status_reason",
            "pending_wait", "failure", "metadata")
_EXTRAS = ("stack", "created_at", "updated_at", "runs", "original_exec_id", "replay_from", "owner", "orchestrator",
           "job_id", "dispatched_at")


def execution_summary(execution: Any) -> dict[str, Any]:
    """An `executions list` item: the summary plus checkpoint and artifact counts."""
    full = execution.to_dict()
    item = {key: full[key] for key in _SUMMARY}
    item["checkpoint_count"] = len(execution.checkpoints)
    item["artifact_count"] = len(execution.artifacts)
    item.update({key: full[key] for key in _EXTRAS})
    return item


def execution(execution: Any) -> dict[str, Any]:
    """An `executions get` (and action) item: the summary, frozen spec, checkpoints and artifacts."""
    full = execution.to_dict()
    return {**execution_summary(execution), "frozen_execution_spec": full["frozen_execution_spec"],
            "checkpoints": full["checkpoints"], "artifacts": full["artifacts"],
            "pending_waits": full["pending_waits"], "config": full["config"]}


def log_entry(entry: Any) -> dict[str, Any]:
    """One log line: `message` plus every field that has a value."""
    return {key: value for key, value in entry.to_dict().items() if value is not None}


def stack(info: Any) -> dict[str, Any]:
    """A stack: `{id, name, is_active}` then this project's fields (components, readiness, problems)."""
    data = info.as_dict()
    return {**data, "id": str(getattr(info, "id", None) or data.get("id") or info.name), "name": info.name,
            "is_active": bool(info.active)}


def secret(row: dict[str, Any]) -> dict[str, Any]:
    """A secret summary (never its values): `{id, name, visibility, keys, has_missing_values}`."""
    keys = sorted(row.get("keys") or [])
    values = row.get("values") or {}
    return {"id": row.get("id") or row["name"], "name": row["name"], "visibility": row.get("visibility", "public"),
            "keys": keys, "has_missing_values": any(values.get(k) in (None, "") for k in keys) if values else False,
            **{k: v for k, v in row.items() if k not in ("id", "name", "keys", "values", "visibility")}}
