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

    A runtime started by an admin may read any secret; one started by a member only the secrets its
    stack or a model alias references (so a member's flow can use the LLM keys, not read every secret).
    """
    if not who.is_runtime:
        raise forbidden("secret values are write-only; only a runtime's execution-scoped token can read them")
    starter = ctx.identity.get_principal(who.sub)
    if (starter is None or starter["role"] != "admin") and name not in _usable_by_runtimes(ctx, who.stack):
        raise forbidden(f"secret {name!r} is not referenced by stack {who.stack!r} or a model alias; an admin can"
                        " reference it there (or start the execution) to make it available to flows")
    return require_row(ctx.state.get_secret(name), f"secret {name!r}")  # type: ignore[no-any-return]


def _usable_by_runtimes(ctx: Any, stack: str | None) -> set[str]:
    """Secret names a member's runtime may read: references in its stack's spec and in model aliases."""
    from kitaru.stacks._secrets import is_secret_ref
    from kitaru.stacks._service import stored_spec

    names = {a["secret"] for a in ctx.state.list_model_aliases() if a.get("secret")}
    for component in (stored_spec(stack, ctx.state) or {}).values() if stack else ():
        if isinstance(component, dict):
            names.update(v["secret"] for v in component.values() if is_secret_ref(v))
    return names


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
    """Create or replace a model alias."""
    require_user(who)
    ctx.state.put_model_alias(alias, body.model, body.secret)
    return Response(status_code=204)
