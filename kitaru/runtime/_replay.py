"""Replay planning: pick the replay point, seed the new journal, apply overrides."""

from __future__ import annotations

from typing import Any

from kitaru.artifacts import ArtifactStore, put_value
from kitaru.errors import KitaruUsageError


def resolve_selector(journal: list[dict[str, Any]], selector: str, exec_id: str) -> dict[str, Any]:
    """The one journal call a selector names: an invocation id, a checkpoint name or a call id."""
    matches = [
        r for r in journal
        if selector in (r["invocation_id"], r["name"], f"{exec_id}:{r['invocation_id']}")
    ]
    exact = [r for r in matches if r["invocation_id"] == selector or f"{exec_id}:{r['invocation_id']}" == selector]
    if len(matches) == 1 or (len(exact) == 1 and len({r["name"] for r in matches}) == 1 and len(matches) == len(exact)):
        return matches[0]
    choices = ", ".join(r["invocation_id"] for r in journal)
    if not matches:
        raise KitaruUsageError(
            f"no checkpoint {selector!r} in execution {exec_id}; choose one of: {choices or '(no checkpoints)'}"
        )
    raise KitaruUsageError(
        f"checkpoint selector {selector!r} is ambiguous in execution {exec_id}: it matches"
        f" {', '.join(r['invocation_id'] for r in matches)}; pass one of those invocation ids"
    )


def plan_replay(
    *,
    source_exec_id: str,
    journal: list[dict[str, Any]],
    waits: list[dict[str, Any]],
    from_: str,
    overrides: dict[str, Any] | None,
    store: ArtifactStore,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The calls and waits to copy into the new execution, and the resolved replay point."""
    start = resolve_selector(journal, from_, source_exec_id)
    seeded = {
        r["seq"]: {**r, "reused_from": source_exec_id}
        for r in journal
        if r["seq"] < start["seq"] and r["status"] == "completed"
    }
    for key, value in (overrides or {}).items():
        kind, _, selector = key.partition(".")
        if kind != "checkpoint" or not selector:
            raise KitaruUsageError(f"override key {key!r} must look like 'checkpoint.<selector>'")
        target = resolve_selector(journal, selector, source_exec_id)
        if target["type"] == "wait":
            raise KitaruUsageError(f"{key!r} names a wait; waits cannot be pre-filled, they ask again on replay")
        seeded[target["seq"]] = {**target, "output": put_value(store, value), "reused_from": None,
                                 "metadata": {"override": True}}
    answered = {w["invocation_id"]: w for w in waits if w["status"] == "answered"}
    seeded_waits = [answered[r["invocation_id"]] for r in seeded.values()
                    if r["type"] == "wait" and r["invocation_id"] in answered]
    return list(seeded.values()), seeded_waits, start["invocation_id"]
