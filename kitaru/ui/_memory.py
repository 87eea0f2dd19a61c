"""The memory pages: scopes, the keys of one scope (latest versions with value previews), a key's history,
and one version's bytes (local stores) or a brokered read URL (cloud stores). Read-only: every logged-in
role reads memory, as the API allows; writes stay with flows, the CLI and the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kitaru.server._deps import require_user
from kitaru.server._errors import ApiError
from kitaru.ui import _present
from kitaru.ui._session import session_info, session_principal
from kitaru.ui._web import render

router = APIRouter(include_in_schema=False)
Name = Annotated[str, Query(min_length=1, max_length=255)]
KEYS_PER_PAGE = 500


def _state(request: Request) -> Any:
    who = session_principal(request)
    require_user(who)
    return request.app.state.kitaru.state


def value_preview(ref: dict[str, Any] | None) -> dict[str, Any] | None:
    """How to show a stored memory value (as checkpoint outputs are shown); None for a tombstone."""
    from kitaru.ui._pages import read_local

    if not ref or "sha256" not in ref:
        return None
    if not str(ref.get("store", "")).startswith("file://"):
        return {"kind": "remote", "size": ref.get("size", 0)}
    data = read_local(ref) if ref.get("size", 0) <= _present.PREVIEW_BYTES else None
    return _present.preview(ref, data)


@router.get("/memory")
def memory_page(request: Request, scope: Annotated[str, Query(max_length=255)] = "",
                prefix: Annotated[str, Query(max_length=255)] = "") -> Response:
    """Every scope; with `scope`, its live keys (latest version each, optionally by key prefix)."""
    state = _state(request)
    who = session_principal(request)
    entries: list[dict[str, Any]] = []
    if scope:
        entries = state.memory_list(scope, prefix or None, limit=KEYS_PER_PAGE + 1)
        for e in entries:
            e["shown"] = value_preview(e.get("value"))
    return render(request, "memory.html", scopes=[] if scope else state.memory_scopes(), scope=scope,
                  prefix=prefix, entries=entries[:KEYS_PER_PAGE], more=len(entries) > KEYS_PER_PAGE,
                  **session_info(request, who))


@router.get("/memory/history")
def memory_history(request: Request, scope: Name, key: Name) -> Response:
    """Every stored version of one key, newest first (tombstones included)."""
    state = _state(request)
    versions = state.memory_history(scope, key)
    if not versions:
        raise ApiError(404, "NotFound", f"memory key {key!r} in scope {scope!r} does not exist")
    for v in versions:
        v["shown"] = value_preview(v.get("value"))
    return render(request, "memory_history.html", scope=scope, key=key, versions=versions,
                  **session_info(request, session_principal(request)))


@router.get("/memory/value")
def memory_value(request: Request, scope: Name, key: Name,
                 version: Annotated[int, Query(ge=1, le=2**31 - 1)]) -> Response:
    """One version's bytes: from the local store, or a 307 to a short-lived read-only URL for cloud stores."""
    from kitaru.ui._pages import serve_ref

    entry = _state(request).memory_get(scope, key, version)
    ref = (entry or {}).get("value")
    if not isinstance(ref, dict) or "sha256" not in ref:
        raise ApiError(404, "NotFound", f"version {version} of memory key {key!r} in scope {scope!r} has no value")
    return serve_ref(ref)
