"""Read tools whose bodies need neither the MCP SDK nor its tool machinery.

The SDK's registered tool and the stdio front (`_front.py`, while the SDK still imports) run the same body
here, so the first `kitaru_executions_list` of a fresh `kitaru-mcp` is answered in milliseconds. The front
takes only plainly valid arguments (`fast_call` returns None for anything else, and the SDK answers it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_PAGE = 100
"""The most items one list call returns; pass `page` for more."""

SUMMARY_FIELDS = ("exec_id", "flow_name", "status", "stack", "created_at", "updated_at", "ended_at",
                  "original_exec_id", "replay_from", "failure", "runs")
FAILURE_FIELDS = ("origin", "reason", "message", "type", "checkpoint")
"""The fields of `_schemas.ExecutionSummary` and `_schemas.Failure`, in order (a test keeps them equal)."""


def client() -> Any:
    """A `KitaruClient` on the current connection (embedded store, or the server of KITARU_SERVER_URL/login)."""
    from kitaru.client import KitaruClient

    return KitaruClient()


def summary_dict(e: Any) -> dict[str, Any]:
    """An execution summary as plain JSON data (the fields of `_schemas.ExecutionSummary`)."""
    d = e.to_dict()
    out = {k: d.get(k) for k in SUMMARY_FIELDS}
    if out["failure"] is not None:
        out["failure"] = {k: out["failure"].get(k) for k in FAILURE_FIELDS}
    return out


def list_page(flow: str | None = None, status: str | None = None, limit: int = 20, page: int = 1) -> dict[str, Any]:
    """The body of `kitaru_executions_list` (one bounded page, newest first) as plain JSON data shaped like
    `_schemas.ExecutionPage`: no pydantic model is built, so it runs before the SDK and its models load."""
    items = client().executions.list(flow=flow, status=status, limit=limit, page=page)
    return {"items": [summary_dict(e) for e in items], "page": page, "limit": limit,
            "next_page": page + 1 if len(items) == limit else None}


def _int(value: Any, low: int, high: int | None = None) -> bool:
    return type(value) is int and value >= low and (high is None or value <= high)


def _opt_str(value: Any) -> bool:
    return value is None or type(value) is str


_Check = Callable[[dict[str, Any]], bool]
FAST: dict[str, tuple[frozenset[str], _Check, Callable[..., Any]]] = {
    "kitaru_executions_list": (
        frozenset({"flow", "status", "limit", "page"}),
        lambda a: _opt_str(a.get("flow")) and _opt_str(a.get("status")) and _int(a.get("limit", 20), 1, MAX_PAGE)
        and _int(a.get("page", 1), 1),
        list_page),
}
"""Tools the front may answer: their argument names, a strict check (no coercion) and their body."""


def fast_call(name: Any, arguments: Any) -> dict[str, Any] | None:
    """The tool's structured result if `name` is a fast tool, its arguments are plainly valid and it succeeds;
    None otherwise (the SDK then validates, runs and reports it, errors included)."""
    spec = FAST.get(name) if isinstance(name, str) else None
    if spec is None or not isinstance(arguments, dict) or not arguments.keys() <= spec[0] or not spec[1](arguments):
        return None
    try:
        result: dict[str, Any] = spec[2](**arguments)
        return result
    except Exception as exc:  # noqa: BLE001 - read-only: the SDK runs it again and reports the error its own way
        import logging

        logging.getLogger("kitaru.mcp").debug("fast %s failed (%s: %s); the SDK answers", name, type(exc).__name__, exc)
        return None
