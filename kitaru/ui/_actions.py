"""State-changing UI requests: login/logout, answer a wait, replay, retry, resume, cancel, admin changes.

Each one checks the session's CSRF token, then the same role checks as the API, then calls the same
service (or client) code as the API and the CLI.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from kitaru.auth import Principal
from kitaru.errors import KitaruError, KitaruStateError, KitaruUsageError
from kitaru.server._deps import require_admin, require_user
from kitaru.server._errors import ApiError, classify_error, forbidden
from kitaru.server._models import ContinueFrom
from kitaru.ui._pages import execution_row, render_admin
from kitaru.ui._session import (
    SESSION_TTL,
    check_csrf,
    check_login_csrf,
    end_session,
    login_csrf,
    may_act,
    session_principal,
    set_login_csrf,
    set_session_token,
    start_session,
)
from kitaru.ui._web import SECURITY_HEADERS, render

router = APIRouter(include_in_schema=False)
ExecId = Annotated[str, Path(min_length=1, max_length=64)]
Csrf = Annotated[str, Form(max_length=128)]
MAX_JSON = 1 << 20


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: Annotated[str, Query(max_length=2048)] = "/") -> Response:
    """The login form (an API key)."""
    token = login_csrf(request)
    response = render(request, "login.html", next=_safe_next(next), csrf=token, error=None)
    set_login_csrf(request, response, token)
    return response


@router.post("/login")
def login(request: Request, api_key: Annotated[str, Form(max_length=512)], csrf: Csrf = "",
          next: Annotated[str, Form(max_length=2048)] = "/") -> Response:
    """Exchange an API key for a session cookie, through the API's own token exchange (same checks, same
    failure limits); the session is that bearer token with the UI's lifetime."""
    check_login_csrf(request, csrf)
    message = _exchange(request, api_key.strip())
    if isinstance(message, str):
        token = login_csrf(request)
        response = render(request, "login.html", status_code=401, next=_safe_next(next), csrf=token, error=message)
        set_login_csrf(request, response, token)
        return response
    redirect = _see_other(_safe_next(next))
    set_session_token(request, redirect, message["access_token"])
    return redirect


def _exchange(request: Request, api_key: str) -> dict[str, Any] | str:
    """The API's token exchange for this key; its error message if refused."""
    import inspect

    from pydantic import ValidationError

    from kitaru.server._models import TokenRequest
    from kitaru.server.routes.auth import exchange_token

    try:
        body = TokenRequest(api_key=api_key, ttl=SESSION_TTL)
        params = inspect.signature(exchange_token).parameters
        result = exchange_token(body=body, ctx=request.app.state.kitaru,
                                **({"request": request} if "request" in params else {}))
    except ValidationError:
        return "Unknown API key. Create one with `kitaru auth api-keys create`."
    except ApiError as exc:
        return "Unknown API key. Create one with `kitaru auth api-keys create`." if exc.status == 401 else exc.message
    if not isinstance(result, dict):  # an error response (e.g. too many failed attempts)
        try:
            return str(json.loads(bytes(result.body))["error"]["message"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return "Login refused; try again later."
    return result


@router.get("/ui/start")
def start_with_token(request: Request, token: Annotated[str, Query(max_length=128)] = "") -> Response:
    """`kitaru ui`: the per-start token in the URL it opened becomes a session for the local user."""
    expected = getattr(request.app.state, "kitaru_ui_token", None)
    if not expected or not hmac.compare_digest(token, expected):
        raise ApiError(401, "Unauthorized", "this link is not valid for this `kitaru ui`; open the URL it printed")
    ident = request.app.state.kitaru.identity
    name = request.app.state.kitaru_ui_user
    found = ident.get_principal(name) or ident.create_principal(name, kind="user", role="admin")
    response = _see_other("/")  # drops the token from the address bar
    start_session(request, response, Principal(sub=found["id"], name=found["name"], role=found["role"], exp=0))
    return response


@router.post("/logout")
def logout(request: Request, csrf: Csrf = "") -> Response:
    """End the session."""
    check_csrf(request, csrf)
    response = _see_other("/login")
    end_session(response)
    return response


def _actor(request: Request, csrf: str) -> Principal:
    """The logged-in principal of a state-changing request, after CSRF and role checks."""
    who = session_principal(request)
    check_csrf(request, csrf)
    require_user(who)
    if not may_act(who):
        raise forbidden(f"the {who.role} role cannot change executions")
    return who


def _back(exec_id: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v[:500] for k, v in params.items() if v})
    return _see_other(f"/executions/{quote(exec_id)}" + (f"?{query}" if query else ""))


def _failed(exec_id: str, exc: Exception) -> RedirectResponse:
    return _back(exec_id, error=classify_error(exc)[2])


def _is_local(request: Request) -> bool:
    """`kitaru ui` (actions start runners on this machine, the owner's), not a team server."""
    return bool(getattr(request.app.state, "kitaru_ui_local", False))


def _client(request: Request) -> Any:
    from kitaru.client import KitaruClient

    return KitaruClient(request.app.state.kitaru.state)


def _parse_json(text: str, what: str) -> Any:
    if len(text) > MAX_JSON:
        raise KitaruUsageError(f"{what} is larger than 1 MiB")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise KitaruUsageError(f"{what} is not valid JSON: {exc}") from None


@router.post("/executions/{exec_id}/input")
def answer_wait(request: Request, exec_id: ExecId, wait: Annotated[str, Form(max_length=255)],
                value_json: Annotated[str, Form(max_length=MAX_JSON)], csrf: Csrf = "") -> Response:
    """Answer a pending wait (validated against its schema, as the API and CLI do) and resume the execution."""
    _actor(request, csrf)
    execution_row(request, session_principal(request), exec_id)
    try:
        value = _parse_json(value_json, "the answer")
        if getattr(request.app.state, "kitaru_ui_local", False):
            _client(request).executions.input(exec_id, wait=wait, value=value)
        else:
            from kitaru.client._client import validate_answer
            from kitaru.server._models import ResolveWait
            from kitaru.server.routes.waits import resolve_wait

            ctx = request.app.state.kitaru
            target = ctx.state.get_wait(exec_id, wait)
            if target is None or target["status"] != "pending":
                raise KitaruStateError(f"execution {exec_id} has no pending wait {wait!r}")
            validate_answer(target["schema"], value)
            body = ResolveWait(invocation_id=wait, status="answered", answer=value)
            if not resolve_wait(exec_id, body, ctx, session_principal(request))["resolved"]:  # the API's own route
                raise KitaruStateError(f"wait {wait!r} was answered meanwhile")
    except (KitaruError, ApiError) as exc:
        return _failed(exec_id, exc)
    return _back(exec_id, notice="Answer recorded; the execution continues.")


@router.post("/executions/{exec_id}/cancel")
def cancel(request: Request, exec_id: ExecId, csrf: Csrf = "") -> Response:
    """Cancel now (waiting/failed) or at the next checkpoint boundary (running), as the API does."""
    _actor(request, csrf)
    execution_row(request, session_principal(request), exec_id)
    try:
        from kitaru.server.routes.executions import request_cancel

        request_cancel(exec_id, request.app.state.kitaru, session_principal(request))  # the API's own route
    except (KitaruError, ApiError) as exc:
        return _failed(exec_id, exc)
    return _back(exec_id, notice="Cancellation requested.")


_CONTINUES: dict[str, tuple[ContinueFrom, ...]] = {"retry": ("failed",), "resume": ("waiting", "failed")}


def _continue(request: Request, exec_id: str, action: str, csrf: str) -> Response:
    who = _actor(request, csrf)
    row = execution_row(request, who, exec_id)
    try:
        if _is_local(request):
            getattr(_client(request).executions, action)(exec_id)
            return _back(exec_id, notice=f"{action.capitalize()} started.")
        job = _server_continue(request, who, row, action)
    except (KitaruError, ApiError) as exc:
        return _failed(exec_id, exc)
    return _back(exec_id, notice=f"{action.capitalize()} dispatched (job {job}).")


def _server_continue(request: Request, who: Principal, row: dict[str, Any], action: str) -> str:
    """On a team server: the server dispatches the runner through the stack's orchestrator (the API's own
    continue route); a local stack's execution is continued by its owner, so it is refused with the reason."""
    from kitaru.server._models import Continue
    from kitaru.server.routes.executions import continue_execution

    statuses = _CONTINUES[action]
    if row["status"] not in statuses:
        raise KitaruStateError(f"execution {row['id']} is {row['status']}; only {' or '.join(statuses)} executions can"
                          f" be {action.rstrip('y')}{'ied' if action == 'retry' else 'd'}")
    ctx = request.app.state.kitaru
    if action == "resume" and row["status"] == "waiting" and ctx.state.list_waits(row["id"], status="pending"):
        raise KitaruStateError(f"execution {row['id']} is waiting for input: answer its wait below to resume it")
    result = continue_execution(row["id"], Continue(statuses=list(statuses)), ctx, who)  # the API's own route
    if not result["continued"]:
        raise KitaruStateError(str(result["reason"]) + " (the server only dispatches runners of remote stacks)")
    return str(result["job_id"])


@router.post("/executions/{exec_id}/retry")
def retry(request: Request, exec_id: ExecId, csrf: Csrf = "") -> Response:
    """Continue a failed execution from its last completed checkpoint (as `kitaru executions retry`)."""
    return _continue(request, exec_id, "retry", csrf)


@router.post("/executions/{exec_id}/resume")
def resume(request: Request, exec_id: ExecId, csrf: Csrf = "") -> Response:
    """Continue a waiting/failed execution in a new runner (as `kitaru executions resume`)."""
    return _continue(request, exec_id, "resume", csrf)


@router.post("/executions/{exec_id}/replay")
def replay(request: Request, exec_id: ExecId, from_: Annotated[str, Form(alias="from", max_length=255)],
           overrides_json: Annotated[str, Form(max_length=MAX_JSON)] = "", csrf: Csrf = "") -> Response:
    """A new execution that re-runs from a checkpoint, with checkpoint outputs overridden (a JSON object)."""
    who = _actor(request, csrf)
    row = execution_row(request, who, exec_id)
    try:
        overrides = _parse_json(overrides_json, "the overrides") if overrides_json.strip() else {}
        if not isinstance(overrides, dict):
            raise KitaruUsageError('the overrides must be a JSON object: {"checkpoint name": value, ...}')
        if _is_local(request):
            new_id = _client(request).executions.replay(exec_id, from_=from_, overrides=overrides or None).exec_id
        else:  # a team server: the API's own replay route (remote stacks; dispatched by the server)
            from kitaru.server._models import Replay
            from kitaru.server.routes.executions import replay_execution

            body = Replay.model_validate({"from": from_, "overrides": overrides or None})
            new_id = replay_execution(row["id"], body, request.app.state.kitaru, who)["exec_id"]
    except (KitaruError, ApiError) as exc:
        return _failed(exec_id, exc)
    return _back(new_id, notice=f"Replay of {exec_id[:12]} from {from_}.")


def _admin(request: Request, csrf: str) -> Principal:
    who = session_principal(request)
    check_csrf(request, csrf)
    require_admin(who)
    return who


@router.post("/admin/principals")
def create_principal(request: Request, name: Annotated[str, Form(min_length=1, max_length=255)],
                     kind: Annotated[str, Form(pattern="^(user|service_account)$")],
                     role: Annotated[str, Form(max_length=16)], csrf: Csrf = "") -> Response:
    """Create a user or service account (admin)."""
    who = _admin(request, csrf)
    try:
        request.app.state.kitaru.identity.create_principal(name.strip(), kind=kind, role=role)
    except KitaruError as exc:
        return render_admin(request, who, error=str(exc), status_code=422)
    return _see_other("/admin")


@router.post("/admin/principals/{name}/delete")
def delete_principal(request: Request, name: Annotated[str, Path(max_length=255)], csrf: Csrf = "") -> Response:
    """Delete a user or service account and its keys (admin)."""
    who = _admin(request, csrf)
    ident = request.app.state.kitaru.identity
    row = ident.get_principal(name)
    if row is None:
        return render_admin(request, who, error=f"{name!r} does not exist", status_code=404)
    ident.delete_principal(row["id"])
    _forget_tokens(request)
    return _see_other("/admin")


@router.post("/admin/keys")
def create_key(request: Request, principal: Annotated[str, Form(min_length=1, max_length=255)],
               name: Annotated[str, Form(min_length=1, max_length=255)], csrf: Csrf = "") -> Response:
    """Create an API key; it is shown in this response only."""
    who = _admin(request, csrf)
    ident = request.app.state.kitaru.identity
    row = ident.get_principal(principal)
    if row is None:
        return render_admin(request, who, error=f"{principal!r} does not exist", status_code=404)
    _, key = ident.create_key(row["id"], name.strip())
    return render_admin(request, who, created_key=key)


@router.post("/admin/keys/{kid}/revoke")
def revoke_key(request: Request, kid: Annotated[str, Path(max_length=64)], csrf: Csrf = "") -> Response:
    """Revoke an API key (admin)."""
    _admin(request, csrf)
    request.app.state.kitaru.identity.delete_key(kid)
    _forget_tokens(request)
    return _see_other("/admin")


def _forget_tokens(request: Request) -> None:
    """Make sessions of a revoked key / deleted principal stop at once (key rings that cache liveness)."""
    forget = getattr(request.app.state.kitaru.keyring, "forget", None)
    if forget is not None:
        forget()

