"""Settings, secrets (values write-only) and model aliases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from kitaru.server._deps import Ctx, Who, require_admin, require_row, require_user
from kitaru.server._errors import forbidden
from kitaru.server._models import ModelAlias, SecretData, Value

router = APIRouter()
Key = Annotated[str, Path(min_length=1, max_length=255)]


@router.get("/settings/{key}", tags=["settings"])
def get_setting(key: Key, ctx: Ctx, who: Who) -> dict[str, Any]:
    """A JSON setting (`value` is null if unset)."""
    return {"key": key, "value": ctx.state.get_setting(key)}


@router.put("/settings/{key}", status_code=204, tags=["settings"])
def put_setting(key: Key, body: Value, ctx: Ctx, who: Who) -> Response:
    """Store a JSON setting (e.g. the active stack)."""
    require_user(who)
    ctx.state.put_setting(key, body.value)
    return Response(status_code=204)


@router.get("/secrets", tags=["secrets"])
def list_secrets(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """Secret names and their keys (never values)."""
    require_user(who)
    return ctx.state.list_secrets()


@router.put("/secrets/{name}", status_code=204, tags=["secrets"])
def put_secret(name: Key, body: SecretData, ctx: Ctx, who: Who) -> Response:
    """Create or replace a secret (admin). Values can be written, never read back by users."""
    require_admin(who)
    ctx.state.put_secret(name, body.data)
    return Response(status_code=204)


@router.get("/secrets/{name}/value", tags=["secrets"])
def read_secret(name: Key, ctx: Ctx, who: Who) -> dict[str, str]:
    """A secret's values, for runtime tokens only.

    A runtime acts as its execution's owner: it may read a secret that the owner may use (admin, an explicit
    grant, or an admin referenced it in the stack or a model alias) AND that its stack or a model alias names.
    """
    if not who.is_runtime:
        raise forbidden("secret values are write-only; only a runtime's execution-scoped token can read them")
    named_by_stack, vouched, named = _references(ctx, who.stack, name)
    if not (named_by_stack or named):
        raise forbidden(f"secret {name!r} is not referenced by stack {who.stack!r} or a model alias; an admin can"
                        " reference it there to make it available to flows")
    if not (named_by_stack or vouched or ctx.identity.may_use_secret(who.sub, name)):
        raise forbidden(f"the owner of this execution may not use secret {name!r}; an admin can grant it with"
                        f" PUT /api/v1/secrets/{name}/grants/PRINCIPAL")
    return require_row(ctx.state.get_secret(name), f"secret {name!r}")


def _references(ctx: Any, stack: str | None, name: str) -> tuple[bool, bool, bool]:
    """(stack `stack` names it, a model alias written by an admin names it, any model alias names it)."""
    from kitaru.stacks._secrets import is_secret_ref
    from kitaru.stacks._service import stored_spec

    in_stack = any(isinstance(c, dict) and any(is_secret_ref(v) and v["secret"] == name for v in c.values())
                   for c in ((stored_spec(stack, ctx.state) or {}).values() if stack else ()))
    writers = [a.get("created_by") for a in ctx.state.list_model_aliases() if a.get("secret") == name]
    vouched = any(ctx.identity.role_of(w) == "admin" for w in writers if w)
    return in_stack, vouched, bool(writers)


@router.get("/secrets/{name}/grants", tags=["secrets"])
def list_secret_grants(name: Key, ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """Who may use a secret besides the admins (admin)."""
    require_admin(who)
    return ctx.identity.secret_grantees(name)


@router.put("/secrets/{name}/grants/{principal}", status_code=204, tags=["secrets"])
def grant_secret(name: Key, principal: Key, ctx: Ctx, who: Who) -> Response:
    """Let a user or service account use a secret in model aliases and its flows (admin)."""
    require_admin(who)
    require_row(True if name in {s["name"] for s in ctx.state.list_secrets()} else None, f"secret {name!r}")
    target = require_row(ctx.identity.get_principal(principal), f"principal {principal!r}")
    ctx.identity.grant_secret(name, target["id"])
    return Response(status_code=204)


@router.delete("/secrets/{name}/grants/{principal}", status_code=204, tags=["secrets"])
def revoke_secret_grant(name: Key, principal: Key, ctx: Ctx, who: Who) -> Response:
    """Withdraw a grant (admin)."""
    require_admin(who)
    target = require_row(ctx.identity.get_principal(principal), f"principal {principal!r}")
    require_row(True if ctx.identity.revoke_secret(name, target["id"]) else None, f"grant of {name!r} to {principal!r}")
    return Response(status_code=204)


@router.delete("/secrets/{name}", status_code=204, tags=["secrets"])
def delete_secret(name: Key, ctx: Ctx, who: Who) -> Response:
    """Delete a secret (admin)."""
    require_admin(who)
    require_row(True if ctx.state.delete_secret(name) else None, f"secret {name!r}")
    return Response(status_code=204)


@router.get("/models", tags=["models"])
def list_model_aliases(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """All model aliases."""
    return ctx.state.list_model_aliases()


@router.put("/models/{alias}", status_code=204, tags=["models"])
def put_model_alias(alias: Key, body: ModelAlias, ctx: Ctx, who: Who) -> Response:
    """Create or replace a model alias; naming a secret needs a right over it (admin, or a grant)."""
    require_user(who)
    if body.secret is not None and not ctx.identity.may_use_secret(who.sub, body.secret):
        raise forbidden(f"a model alias naming secret {body.secret!r} makes it readable by flows; only admins and"
                        f" principals granted the secret may write one (PUT /api/v1/secrets/{body.secret}/grants/...)")
    ctx.state.put_model_alias(alias, body.model, body.secret, created_by=who.sub)
    return Response(status_code=204)
