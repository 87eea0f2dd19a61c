"""Read-only pages and their JSON helpers: executions list, one execution, output previews, logs, catalog."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from kitaru.auth import Principal
from kitaru.server._deps import ServerContext, require_admin, require_execution, require_user
from kitaru.server._errors import ApiError
from kitaru.ui import _present
from kitaru.ui._session import session_info, session_principal
from kitaru.ui._web import SECURITY_HEADERS, render

router = APIRouter(include_in_schema=False)
ExecId = Annotated[str, Path(min_length=1, max_length=64)]
Opt = Annotated[str, Query(max_length=255)]


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.kitaru  # set by create_app
    return ctx


def execution_row(request: Request, who: Principal, exec_id: str) -> dict[str, Any]:
    """One execution, through the API's own authorization check; 404 if missing."""
    require_execution(who, exec_id)
    found: dict[str, Any] | None = _ctx(request).state.get_execution(exec_id)
    if found is None:
        raise ApiError(404, "NotFound", f"execution {exec_id} does not exist")
    return found


@router.get("/")
def executions_page(
    request: Request, status: Opt = "", flow: Opt = "", stack: Opt = "", owner: Opt = "", since: Opt = "",
    q: Annotated[str, Query(max_length=64)] = "", before_created_at: float | None = None,
    before_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The executions table: filters, id-prefix search, keyset pagination, live refresh of active rows."""
    who = session_principal(request)
    require_user(who)
    before = (before_created_at, before_id) if before_created_at is not None and before_id else None
    f = _present.Filters(status=status if status in _present.STATUSES else "", flow=flow, stack=stack, owner=owner,
                         since=since if since in _present.RANGES else "", q=q, before=before)
    rows, nxt = _present.list_page(_ctx(request).state, f)
    for r in rows:
        r["duration"] = _present.duration(r["created_at"], r["ended_at"])
    next_query = f.query(before_created_at=repr(nxt[0]), before_id=nxt[1]) if nxt else None
    return render(request, "executions.html", rows=rows, f=f, next_query=next_query, statuses=_present.STATUSES,
                  ranges=_present.RANGES, has_owner=_ctx(request).state.records_owners(),
                  **session_info(request, who))


@router.get("/ui/api/status")
def live_status(request: Request, ids: Annotated[str, Query(max_length=200 * 65)] = "") -> JSONResponse:
    """Status, runs and duration of the listed executions (polled by the page for active rows)."""
    who = session_principal(request)
    require_user(who)
    wanted = [i for i in ids.split(",") if i][:200]
    return JSONResponse(_present.statuses_of(_ctx(request).state, wanted), headers=SECURITY_HEADERS)


@router.get("/executions/{exec_id}")
def execution_page(request: Request, exec_id: ExecId, error: Opt = "", notice: Opt = "") -> Response:
    """One execution: header, failure, waits, checkpoint timeline, LLM calls, logs, actions."""
    who = session_principal(request)
    ctx = _ctx(request)
    row = execution_row(request, who, exec_id)
    calls = ctx.state.load_journal(exec_id)
    tl = _present.timeline(calls, ctx.state.load_attempts(exec_id), row)
    waits = ctx.state.list_waits(exec_id, status="pending")
    failure = row.get("failure") or None
    return render(request, "execution.html", e=row, tl=tl, waits=waits, failure=failure,
                  duration=_present.duration(row["created_at"], row["ended_at"]), error=error, notice=notice,
                  local_actions=_continuable(request, row),
                  pretty=_present.pretty, **session_info(request, who))


def _continuable(request: Request, row: dict[str, Any]) -> bool:
    """Whether retry/resume/replay are offered: always by `kitaru ui` (the owner's machine runs them); on a
    team server only for remote stacks, whose runners the server dispatches (it never runs flow code)."""
    if getattr(request.app.state, "kitaru_ui_local", False):
        return True
    from kitaru.server._continue import runs_remotely

    try:
        return runs_remotely(_ctx(request), row)
    except Exception:  # noqa: BLE001 - a stack that cannot be checked offers no continuation (the page still shows)
        return False


def _call_output(request: Request, exec_id: str, invocation_id: str) -> tuple[dict[str, Any], Any, Any]:
    """One checkpoint call of an execution, its output ref and how to preview it."""
    who = session_principal(request)
    ctx = _ctx(request)
    execution_row(request, who, exec_id)
    call = next((c for c in ctx.state.load_journal(exec_id) if c["invocation_id"] == invocation_id), None)
    if call is None:
        raise ApiError(404, "NotFound", f"checkpoint {invocation_id!r} of execution {exec_id} does not exist")
    ref = call.get("output") if isinstance(call.get("output"), dict) else None
    shown = None
    if ref and "sha256" in ref and not str(ref.get("store", "")).startswith("file://"):
        shown = {"kind": "remote", "size": ref.get("size", 0)}  # the server does not read cloud storage
    elif ref and "sha256" in ref:
        data = read_local(ref) if ref.get("size", 0) <= _present.PREVIEW_BYTES else None
        shown = _present.preview(ref, data)
    return call, ref, shown


# {invocation_id:path} would swallow the suffix: the two fragments are told apart by their last segment
@router.get("/executions/{exec_id}/checkpoints/{invocation_id:path}/output")
def output_preview(request: Request, exec_id: ExecId, invocation_id: str) -> Response:
    """The output preview of one checkpoint (an HTML fragment)."""
    call, ref, shown = _call_output(request, exec_id, invocation_id)
    return render(request, "_output.html", ref=ref, shown=shown, exec_id=exec_id, call=call)


@router.get("/executions/{exec_id}/checkpoints/{invocation_id:path}/body")
def checkpoint_body(request: Request, exec_id: ExecId, invocation_id: str) -> Response:
    """One checkpoint's details (inputs, output preview, metadata, error, attempts), loaded when opened."""
    call, ref, shown = _call_output(request, exec_id, invocation_id)
    attempts = [a for a in _ctx(request).state.load_attempts(exec_id) if a["invocation_id"] == invocation_id]
    md = {k: v for k, v in (call.get("metadata") or {}).items() if k not in _present._LLM_KEYS}
    return render(request, "_checkpoint.html", c=call, ref=ref, shown=shown, exec_id=exec_id, call=call,
                  attempts=attempts, shown_metadata=md, pretty=_present.pretty)


def read_local(ref: dict[str, Any]) -> bytes | None:
    """A local store's verified bytes of `ref`; None if missing, corrupted or unreadable."""
    from kitaru.artifacts._blobs import read_verified
    from kitaru.stacks import store_from_root

    try:
        return read_verified(store_from_root(ref["store"]), ref)
    except Exception as exc:  # noqa: BLE001 - a preview of a missing/unreachable blob is "not available", not a 500
        logging.getLogger("kitaru.ui").info("no preview of %s: %s: %s", ref.get("sha256"), type(exc).__name__, exc)
        return None


Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$")]


@router.get("/executions/{exec_id}/blobs/{sha256}")
def download_blob(request: Request, exec_id: ExecId, sha256: Sha256) -> Response:
    """The bytes of a value this execution recorded (local stores), as a download or an inline image."""
    who = session_principal(request)
    row = execution_row(request, who, exec_id)
    ref = _present.journal_refs(_ctx(request).state, row).get(sha256)
    if ref is None:
        raise ApiError(404, "NotFound", f"execution {exec_id} recorded no value {sha256[:12]}")
    return serve_ref(ref)


def serve_ref(ref: dict[str, Any]) -> Response:
    """A stored value's bytes for the browser: read from a local store (images inline, anything else as an
    attachment, sandboxed), or a 307 to a short-lived read-only URL of a cloud store."""
    if not str(ref.get("store", "")).startswith("file://"):
        return _brokered(ref)
    data = read_local(ref)
    if data is None:
        raise ApiError(404, "NotFound", "the stored bytes are missing or corrupted")
    mime = _present.sniff_image(data)
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": "default-src 'none'; sandbox"}
    if mime is None:
        headers["Content-Disposition"] = f'attachment; filename="{ref["sha256"][:16]}.bin"'
    return Response(data, media_type=mime or "application/octet-stream", headers=headers)


READ_URL_TTL = 300
"""Seconds a brokered read URL for a cloud-stored value stays valid."""


def _brokered(ref: dict[str, Any]) -> Response:
    """Send the browser straight to the storage with a short-lived read-only URL: the server never proxies it."""
    from fastapi.responses import RedirectResponse

    from kitaru.artifacts._blobs import blob_key
    from kitaru.stacks._resolve import registered_store

    store = registered_store(str(ref["store"]))
    if store is None:
        raise ApiError(404, "NotFound", "this value is stored outside every registered stack's artifact store; only"
                       " a registered stack's values get a download link")
    read_url = getattr(store, "read_url", None)
    if read_url is None:
        raise ApiError(501, "NotImplemented", f"the {getattr(store, 'flavor', 'this')} artifact store has no brokered"
                       " read URLs yet; fetch the value with `KitaruClient().artifacts` instead")
    return RedirectResponse(read_url(blob_key(ref["sha256"]), ttl=READ_URL_TTL), status_code=307,
                            headers=SECURITY_HEADERS)


@router.get("/ui/api/executions/{exec_id}/logs")
async def logs_json(
    request: Request, exec_id: ExecId, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    checkpoint: Annotated[str | None, Query(max_length=255)] = None,
    wait: Annotated[float, Query(ge=0, le=25)] = 0,
) -> JSONResponse:
    """Log lines after `after` (long-polls up to `wait` seconds), through the API's own logs route."""
    from kitaru.server.routes.logs import query_logs

    who = session_principal(request)
    rows = await query_logs(exec_id, _ctx(request), who, invocation_id=checkpoint or None, after_id=after,
                            limit=1000, wait=wait)
    status = _ctx(request).state.get_execution(exec_id)
    return JSONResponse({"lines": [{"id": r["id"], "ts": r["ts"], "level": r["level"], "stream": r["stream"],
                                    "checkpoint": r["invocation_id"], "message": r["message"]} for r in rows],
                         "status": status["status"] if status else None}, headers=SECURITY_HEADERS)


_KINDS = ("orchestrator", "artifact_store", "container_registry")


@router.get("/stacks")
def stacks_page(request: Request) -> Response:
    """Stacks, installed plugins, model aliases and secret names (never values)."""
    from kitaru.plugins._manager import get_plugin_manager

    who = session_principal(request)
    require_user(who)
    state = _ctx(request).state
    try:
        plugins = [p.as_dict() for p in get_plugin_manager().plugins()]
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the page down
        plugins = [{"name": "?", "status": "failed", "error": str(exc)}]
    try:
        from kitaru.stacks._service import list_stacks

        stacks = [{**i.as_dict(), "flavors": {k: i.flavor(k) for k in _KINDS}} for i in list_stacks(state)]
    except Exception as exc:  # noqa: BLE001 - show the stored specs if stack resolution itself fails
        stacks = [{**r, "problems": [f"cannot check this stack: {exc}"], "flavors": {}} for r in state.list_stacks()]
    return render(request, "stacks.html", stacks=stacks, kinds=_KINDS, plugins=plugins,
                  models=state.list_model_aliases(), secrets=state.list_secrets(), pretty=_present.pretty,
                  **session_info(request, who))


@router.get("/admin")
def admin_page(request: Request) -> Response:
    """Users, service accounts and API keys (admins only)."""
    who = session_principal(request)
    require_admin(who)
    return render_admin(request, who)


def render_admin(request: Request, who: Principal, *, created_key: str | None = None, error: str | None = None,
                 status_code: int = 200) -> Response:
    """The admin page; a just-created API key is shown in this response only (never in a URL)."""
    ident = _ctx(request).identity
    names = {p["id"]: p["name"] for p in ident.list_principals(None)}
    return render(request, "admin.html", status_code=status_code, users=ident.list_principals("user"),
                  accounts=ident.list_principals("service_account"), keys=ident.list_keys(None), names=names,
                  created_key=created_key, error=error, **session_info(request, who))
