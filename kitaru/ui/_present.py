"""Read models for the pages: the filtered executions page, the checkpoint timeline, LLM totals, previews."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kitaru.store import StateService
from kitaru.store._rows import to_dict

if TYPE_CHECKING:
    from kitaru.store import StateStore

PAGE_SIZE = 50
STATUSES = ("running", "waiting", "completed", "failed", "cancelled")
RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
PREVIEW_BYTES = 256 * 1024
"""Outputs larger than this are not loaded for a preview (download link only)."""
PREVIEW_CHARS = 10_000
_LLM_KEYS = ("llm_calls", "messages", "response")


@dataclass
class Filters:
    """The executions page's filters (all optional) and keyset cursor."""

    status: str = ""
    flow: str = ""
    stack: str = ""
    owner: str = ""
    since: str = ""
    q: str = ""
    before: tuple[float, str] | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        out = {k: getattr(self, k) for k in ("status", "flow", "stack", "owner", "since", "q") if getattr(self, k)}
        out.update({k: v for k, v in changes.items() if v is not None})
        return out


def list_page(state: StateService, f: Filters, *, limit: int = PAGE_SIZE
              ) -> tuple[list[dict[str, Any]], tuple[float, str] | None]:
    """One page of executions, newest first, and the cursor of the next page (None on the last)."""
    rows = state.execution_page(status=f.status, flow=f.flow, stack=f.stack, owner=f.owner,
                                created_after=time.time() - RANGES[f.since] if f.since in RANGES else None,
                                id_prefix=f.q, before=f.before, limit=limit + 1)
    nxt = (rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return rows[:limit], nxt


def statuses_of(state: StateService, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Status, runs and duration of a few executions (the list's live refresh)."""
    return {r["id"]: {"status": r["status"], "runs": r["runs"], "duration": duration(r["created_at"], r["ended_at"])}
            for r in state.execution_statuses(ids)}


def duration(start: float | None, end: float | None) -> str:
    """A short human duration ('1.2s', '3m 04s', '2h 05m'); up to now while still going."""
    if start is None:
        return ""
    s = max(0.0, (end if end is not None else time.time()) - start)
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m {int(s % 60):02d}s"
    return f"{int(s // 3600)}h {int(s % 3600 // 60):02d}m"


def timeline(calls: list[dict[str, Any]], attempts: list[dict[str, Any]], exec_row: dict[str, Any]) -> dict[str, Any]:
    """Checkpoints with bar offsets/widths (percent) on one time axis, their attempts and LLM calls, and totals."""
    by_call: dict[str, list[dict[str, Any]]] = {}
    for a in attempts:
        by_call.setdefault(a["invocation_id"], []).append(a)
    t0 = min([c["started_at"] for c in calls if c["started_at"]] or [exec_row["created_at"]])
    t_end = exec_row["ended_at"] or time.time()
    t1 = max([c["ended_at"] or t_end for c in calls] + [exec_row["ended_at"] or t0])
    span = max(t1 - t0, 1e-6)
    items, llm, totals = [], [], {"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0, "latency_ms": 0.0, "calls": 0}
    for c in calls:
        start, end = c["started_at"] or t0, c["ended_at"] or t_end
        md = c.get("metadata") or {}
        for call_id, rec in (md.get("llm_calls") or {}).items():
            entry = {"checkpoint": c["invocation_id"], "call": call_id, "model": rec.get("resolved_model"),
                     "tokens_in": rec.get("tokens_input"), "tokens_out": rec.get("tokens_output"),
                     "cost_usd": rec.get("cost_usd"), "latency_ms": rec.get("latency_ms")}
            llm.append(entry)
            totals["calls"] += 1
            for key in ("tokens_in", "tokens_out", "cost_usd", "latency_ms"):
                totals[key] += entry[key] or 0
        items.append({**c, "left": round((start - t0) / span * 100, 3),
                      "width": round(max((end - start) / span * 100, 0.3), 3),
                      "duration": duration(c["started_at"], c["ended_at"] or (None if c["status"] == "running"
                                                                               else end)),
                      "attempt_rows": by_call.get(c["invocation_id"], []),
                      "shown_metadata": {k: v for k, v in md.items() if k not in _LLM_KEYS}})
    return {"items": items, "llm": llm, "totals": totals, "span": duration(t0, t1)}


def pretty(value: Any) -> str:
    """JSON pretty-printed (for metadata and previews)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True)


_IMAGES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
           b"GIF89a": "image/gif"}


def sniff_image(data: bytes) -> str | None:
    """The image MIME type of these bytes, if they start like PNG, JPEG or GIF (never SVG: it can carry script)."""
    for magic, mime in _IMAGES.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def preview(ref: dict[str, Any], data: bytes | None) -> dict[str, Any]:
    """How to show a stored value: kind (json|text|image|binary|too_large|opaque), the text, truncation.

    Values are never deserialized by their class here (no pickle, no imports): JSON-shaped serializers are
    read as JSON, raw strings as text, everything else only by its bytes.
    """
    size, serializer = ref.get("size", 0), ref.get("serializer")
    if data is None:
        return {"kind": "too_large", "size": size}
    if serializer in ("json", "pydantic", "dataclass"):
        try:
            text = pretty(json.loads(data))
            return _text("json", text, size)
        except ValueError:
            pass
    if serializer == "raw":
        mime = sniff_image(data)
        if mime:
            return {"kind": "image", "mime": mime, "size": size}
        if ref.get("type") == "str" or _is_text(data):
            return _text("text", data.decode("utf-8", "replace"), size)
        return {"kind": "binary", "size": size, "text": data[:64].hex(" ")}
    return {"kind": "opaque", "size": size, "serializer": serializer, "type": ref.get("type")}


def _is_text(data: bytes) -> bool:
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data[:4096]


def _text(kind: str, text: str, size: int) -> dict[str, Any]:
    return {"kind": kind, "text": text[:PREVIEW_CHARS], "truncated": len(text) > PREVIEW_CHARS, "size": size}


def journal_refs(state: StateStore, exec_row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every blob ref an execution may show, by sha256: its inputs, result, checkpoint outputs, artifacts."""
    refs: dict[str, dict[str, Any]] = {}
    for ref in (exec_row.get("inputs"), exec_row.get("result")):
        if isinstance(ref, dict) and "sha256" in ref:
            refs[ref["sha256"]] = ref
    for c in state.load_journal(exec_row["id"]):
        if isinstance(c.get("output"), dict) and "sha256" in c["output"]:
            refs[c["output"]["sha256"]] = c["output"]
    for a in state.list_artifacts(exec_row["id"]):
        if isinstance(a.get("ref"), dict) and "sha256" in a["ref"]:
            refs[a["ref"]["sha256"]] = a["ref"]
    return refs


def row(raw: Any) -> dict[str, Any]:
    """A DB row as a dict with JSON columns decoded."""
    return to_dict(raw) or {}
