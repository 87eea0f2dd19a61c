"""Token exchange, users, service accounts and API keys."""

from __future__ import annotations

import logging
import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from kitaru.auth import DEFAULT_TTL, Principal, key_id, runtime_max_age, runtime_token, sign
from kitaru.server._deps import Ctx, Who, require_admin, require_row, require_user
from kitaru.server._errors import ApiError, error_response, forbidden
from kitaru.server._models import NewKey, NewPrincipal, TokenRequest

router = APIRouter(tags=["auth"])
Ident = Annotated[str, Path(min_length=1, max_length=255)]
log = logging.getLogger("kitaru.server")


@router.post("/auth/token", response_model=None)
def exchange_token(body: TokenRequest, request: Request, ctx: Ctx) -> Any:
    """Exchange an API key for a short-lived bearer token (failed attempts are limited per client address)."""
    address = request.client.host if request.client else "unknown"
    limiter = ctx.auth_failures
    wait = limiter.retry_after(address) if limiter is not None else 0.0
    if wait > 0:
        return error_response(429, "TooManyRequests", f"too many failed API key exchanges from {address}; try again"
                              f" in {math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})
    found = ctx.identity.authenticate(body.api_key)
    if found is None:
        count = limiter.failed(address) if limiter is not None else 0
        log.warning("failed API key exchange from %s (key id %s, %d recent failures)", address,
                    key_id(body.api_key)[:8], count)  # never the key itself
        raise ApiError(401, "Unauthorized", "unknown API key; create one with `kitaru auth api-keys create`")
    ttl = body.ttl or DEFAULT_TTL
    who = Principal(sub=found["id"], name=found["name"], role=found["role"], exp=time.time() + ttl,
                    kid=key_id(body.api_key))
    return {"access_token": sign(who, ctx.signing_key), "token_type": "bearer", "expires_in": ttl,
            "principal": {"id": found["id"], "name": found["name"], "kind": found["kind"], "role": found["role"]}}


@router.post("/auth/refresh")
def refresh_token(ctx: Ctx, who: Who) -> dict[str, Any]:
    """A fresh runtime token while its execution is running, never beyond the chain's absolute lifetime
    (KITARU_SERVER_RUNTIME_TOKEN_MAX_AGE, default 24 h); users re-exchange their API keys instead."""
    if not who.is_runtime:
        raise forbidden("only execution-scoped tokens refresh; exchange your API key at POST /api/v1/auth/token")
    row = ctx.state.get_execution(who.exec or "")
    if row is None or row["status"] != "running":
        raise forbidden("the execution of this token is no longer running; its owner mints a new token when it"
                        " continues")
    origin = who.origin if who.origin is not None else time.time()
    if time.time() >= origin + runtime_max_age():
        raise forbidden("this runtime token reached its absolute lifetime (KITARU_SERVER_RUNTIME_TOKEN_MAX_AGE);"
                        " the execution's owner mints a new one with `kitaru executions resume`")
    token, ttl = runtime_token({**row, "owner_id": who.sub}, ctx.signing_key, kid=who.kid, origin=origin)
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


@router.get("/auth/me")
def whoami(who: Who) -> dict[str, Any]:
    """The caller's identity."""
    return {"id": who.sub, "name": who.name, "role": who.role, "execution": who.exec, "expires_at": who.exp}


def _principal_routes(kind: str, path: str) -> None:
    @router.get(f"/{path}", name=f"list_{path}")
    def list_principals(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
        require_admin(who)
        return ctx.identity.list_principals(kind)

    @router.post(f"/{path}", status_code=201, name=f"create_{path}")
    def create_principal(body: NewPrincipal, ctx: Ctx, who: Who) -> dict[str, Any]:
        require_admin(who)
        return ctx.identity.create_principal(body.name, kind=kind, role=body.role)

    @router.delete(f"/{path}/{{name}}", status_code=204, name=f"delete_{path}")
    def delete_principal(name: Ident, ctx: Ctx, who: Who) -> Response:
        require_admin(who)
        row = require_row(ctx.identity.get_principal(name), f"{kind} {name!r}")
        if row["kind"] != kind:
            raise ApiError(404, "NotFound", f"{kind} {name!r} does not exist")
        ctx.identity.delete_principal(row["id"])
        ctx.keyring.forget()  # its tokens stop now here, within KITARU_SERVER_REVOCATION_CHECK s elsewhere
        return Response(status_code=204)

    list_principals.__doc__ = f"All {path.replace('-', ' ')} (admin)."
    create_principal.__doc__ = f"Create a {kind.replace('_', ' ')} (admin)."
    delete_principal.__doc__ = f"Delete a {kind.replace('_', ' ')} and its API keys (admin)."


_principal_routes("user", "users")
_principal_routes("service_account", "service-accounts")


def _own_key(ctx: Any, who: Principal, kid: str) -> dict[str, Any]:
    key = require_row(ctx.identity.get_key(kid), f"API key {kid}")
    if not who.is_admin and key["principal_id"] != who.sub:
        raise ApiError(404, "NotFound", f"API key {kid} does not exist")
    result: dict[str, Any] = key
    return result


@router.get("/api-keys")
def list_keys(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """API keys (admins: all; members: their own). Never the keys themselves."""
    require_user(who)
    return ctx.identity.list_keys(None if who.is_admin else who.sub)


@router.post("/api-keys", status_code=201)
def create_key(body: NewKey, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Create an API key for yourself, or (admin) for any principal; the key is returned only now."""
    require_user(who)
    target = who.sub
    if body.principal is not None:
        row = require_row(ctx.identity.get_principal(body.principal), f"principal {body.principal!r}")
        if row["id"] != who.sub:
            require_admin(who)
        target = row["id"]
    meta, key = ctx.identity.create_key(target, body.name)
    return {**meta, "api_key": key}


@router.post("/api-keys/{kid}/rotate")
def rotate_key(kid: Ident, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Replace a key by a new one (the old one stops working now)."""
    require_user(who)
    _own_key(ctx, who, kid)
    meta, key = ctx.identity.rotate_key(kid)
    ctx.keyring.forget()
    return {**meta, "api_key": key}


@router.delete("/api-keys/{kid}", status_code=204)
def delete_key(kid: Ident, ctx: Ctx, who: Who) -> Response:
    """Revoke a key."""
    require_user(who)
    _own_key(ctx, who, kid)
    ctx.identity.delete_key(kid)
    ctx.keyring.forget()  # tokens exchanged with this key stop now here, within seconds on other replicas
    return Response(status_code=204)
