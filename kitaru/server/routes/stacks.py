"""Stacks (compositions of components) and credential brokering for their artifact stores and orchestrators
(short-lived, dispatch-only credentials for the clients that start runs)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from kitaru.config._tunables import tunables
from kitaru.server._deps import Ctx, Who, require_admin, require_row
from kitaru.server._errors import ApiError, forbidden
from kitaru.server._models import CredentialsRequest, StackSpec

router = APIRouter(tags=["stacks"])
Name = Annotated[str, Path(min_length=1, max_length=255)]
log = logging.getLogger("kitaru.server")


@router.get("/stacks")
def list_stacks(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """All registered stacks."""
    return ctx.state.list_stacks()


@router.get("/stacks/{name}")
def get_stack(name: Name, ctx: Ctx, who: Who) -> dict[str, Any]:
    """One stack."""
    return require_row(ctx.state.get_stack(name), f"stack {name!r}")


@router.put("/stacks/{name}", status_code=204)
def put_stack(name: Name, body: StackSpec, ctx: Ctx, who: Who) -> Response:
    """Create or replace a stack (admin; the client validated it against the flavors)."""
    require_admin(who)
    ctx.state.put_stack(name, body.spec)
    return Response(status_code=204)


@router.delete("/stacks/{name}", status_code=204)
def delete_stack(name: Name, ctx: Ctx, who: Who) -> Response:
    """Delete a stack (admin)."""
    require_admin(who)
    require_row(True if ctx.state.delete_stack(name) else None, f"stack {name!r}")
    return Response(status_code=204)


def _check_scope(scope: str) -> str:
    parts = [p for p in scope.split("/") if p]
    if scope.startswith("/") or ".." in parts or "\\" in scope or any(c in scope for c in "\0\r\n"):
        raise ApiError(422, "InvalidValue", "scope must be a relative prefix inside the store (no '..', no leading '/')")
    return "/".join(parts)


def _runtime_write_scope(scope: str, exec_id: str) -> str:
    """The narrowest scope a runtime may write: `blobs` (the default) or inside it, or its own execution's area."""
    if not scope:
        return "blobs"
    own = f"executions/{exec_id}"
    if scope == "blobs" or scope.startswith("blobs/") or scope == own or scope.startswith(own + "/"):
        return scope
    raise forbidden(f"a runtime may write only under 'blobs/' and '{own}/', not {scope!r}")


def _is_code_area(scope: str) -> bool:
    """The content-addressed area where clients ship their project's code for remote runners."""
    return scope == "code" or scope.startswith("code/")


@router.post("/stacks/{name}/credentials")
def mint_credentials(name: Name, body: CredentialsRequest, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Short-lived credentials for the stack's artifact store, scoped to `scope` (TTL ≤ 1 h, default 15 min).

    Read credentials for every caller; write credentials only for admins and for a runtime on its own
    execution's stack, narrowed to what a runtime writes (the content-addressed blob area and its own
    execution's area: `blobs/`, `executions/<its id>/`).
    """
    if who.is_runtime and who.stack != name:
        raise forbidden(f"this token may only mint credentials for stack {who.stack!r}")
    if who.is_runtime and body.component != "artifact_store":
        raise forbidden("a runtime token mints storage credentials only; runners never dispatch jobs")
    if body.component == "orchestrator" and who.role == "viewer":
        raise forbidden("viewers cannot start runs, so they get no dispatch credentials")
    if body.component == "container_registry" and who.role == "viewer":
        raise forbidden("viewers cannot build or push images, so they get no registry credentials")
    scope = _check_scope(body.scope)
    if body.component == "artifact_store" and body.access == "write" and not who.is_admin:
        if who.is_runtime:
            scope = _runtime_write_scope(scope, who.exec or "")
        elif not _is_code_area(scope) or who.role == "viewer":
            raise forbidden("write credentials go only to a flow's runtime (for its own execution), to admins, and to"
                            " members for the content-addressed code area ('code/'); ask for access='read'")
    from kitaru.stacks import resolve_stack
    from kitaru.stacks._service import stored_spec

    spec = require_row(stored_spec(name, ctx.state), f"stack {name!r}")
    if body.component not in spec:
        raise ApiError(404, "NotFound", f"stack {name!r} has no {body.component}")

    component = resolve_stack(name, home=ctx.home, state=ctx.state).component(body.component)
    if body.component == "container_registry":
        return _registry_credentials(name, component, body.access, who)
    if not hasattr(component, "mint_credentials"):
        raise ApiError(409, "NotSupported", f"the {component.flavor} {body.component} of stack {name!r} needs no"
                       " brokered credentials")
    ttl = min(body.ttl, tunables().ttl_cap(component.flavor))  # the server's cap, per flavor
    creds = component.mint_credentials(scope, access=body.access, ttl=ttl)
    log.info("minted %s credentials for stack %s (%s, scope %r) for %s", body.access, name, creds.flavor, scope,
             who.name)  # never the values
    return {"flavor": creds.flavor, "access": creds.access, "scope": creds.scope, "root": getattr(component, "root", None),
            "expires_at": creds.expires_at.isoformat(), "values": creds.values}




def _registry_credentials(stack: str, registry: Any, access: str, who: Any) -> dict[str, Any]:
    """Pull (`read`) or push (`write`) credentials of the stack's registry, e.g. for `kitaru build`.

    Short-lived tokens (ECR, Artifact Registry, ACR) go to members and admins; a registry whose credentials
    are a stored username/password (the generic `oci` flavor) hands them to admins only: no endpoint returns
    a stored secret value to a member.
    """
    from datetime import UTC, datetime

    creds = registry.credentials("push" if access == "write" else "pull")
    if creds.expires_at is None and creds.password and not who.is_admin:
        raise forbidden(f"the {registry.flavor} registry of stack {stack!r} has stored credentials, which only admins"
                        " receive; log in with your build tool (`docker login`) instead")
    log.info("brokered %s registry credentials for stack %s for %s", access, stack, who.name)  # never the values
    expires = creds.expires_at or datetime.now(UTC)
    return {"flavor": registry.flavor, "access": access, "scope": "", "root": registry.uri,
            "expires_at": expires.isoformat(),
            "values": {"registry": creds.registry, "username": creds.username, "password": creds.password}}
