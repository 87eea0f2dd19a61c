"""Browser sessions: an API key (or the `kitaru ui` start token) exchanged for a signed, HttpOnly cookie,
plus a CSRF token bound to that session. Sessions are the server's own signed tokens, so they are
verified by the same key ring as API bearer tokens and die with a signing-key rotation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from fastapi import Request, Response

from kitaru.auth import Principal, sign

SESSION_COOKIE = "kitaru_session"
LOGIN_COOKIE = "kitaru_login_csrf"
SESSION_TTL = 8 * 3600
"""Seconds a browser session lasts before the user logs in again."""


class NotLoggedIn(Exception):
    """No valid session: pages redirect to /login, JSON endpoints answer 401."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly or through a proxy that says so)."""
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip().lower() == "https"


def start_session(request: Request, response: Response, who: Principal) -> None:
    """Set the session cookie for `who` (a local `kitaru ui` user): a token signed by the server's keys."""
    ctx = request.app.state.kitaru
    token = sign(Principal(sub=who.sub, name=who.name, role=who.role, exp=time.time() + SESSION_TTL), ctx.signing_key)
    set_session_token(request, response, token)


def set_session_token(request: Request, response: Response, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, bounded lifetime."""
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL, httponly=True, samesite="strict",
                        secure=is_https(request), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/")


def end_session(response: Response) -> None:
    """Forget the session cookie (logout)."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def session_principal(request: Request) -> Principal:
    """The logged-in principal of this request; NotLoggedIn otherwise (runtime tokens never log in)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotLoggedIn()
    found: Principal | None = request.app.state.kitaru.keyring.verify(token)
    if found is None or found.is_runtime:
        raise NotLoggedIn()
    return found


def csrf_token(request: Request) -> str:
    """The CSRF token of this request's session (an HMAC of the session cookie: nothing stored)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    key = request.app.state.kitaru.signing_key
    return hmac.new(key, b"kitaru-ui-csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a state-changing request whose CSRF token (form field or X-CSRF-Token header) is missing or wrong."""
    sent = sent or request.headers.get("x-csrf-token") or ""
    if not sent or not hmac.compare_digest(sent, csrf_token(request)):
        raise CsrfRejected()


def login_csrf(request: Request) -> str:
    """A double-submit token for the login form (there is no session yet to bind it to)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: Request, response: Response, value: str) -> None:
    """Send the login form's double-submit cookie."""
    response.set_cookie(LOGIN_COOKIE, value, max_age=3600, httponly=True, samesite="strict",
                        secure=is_https(request), path="/")


def check_login_csrf(request: Request, sent: str | None) -> None:
    """The login form must echo the cookie it was served with."""
    cookie = request.cookies.get(LOGIN_COOKIE) or ""
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise CsrfRejected()


def may_act(who: Principal) -> bool:
    """Whether this role may change executions (answer, replay, retry, resume, cancel): not viewers."""
    return who.role in ("admin", "member")


def session_info(request: Request, who: Principal) -> dict[str, Any]:
    """What every page template needs about the session."""
    return {"who": who, "csrf": csrf_token(request), "may_act": may_act(who), "is_admin": who.is_admin}
