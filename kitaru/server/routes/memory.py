"""Durable memory: versioned key/value entries per scope (values are blob refs; bytes live in the artifact store).

Roles: everyone authenticated reads; members, admins and runtimes write and compact (a viewer is read-only);
only admins purge and reindex.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kitaru.auth import Principal
from kitaru.server._deps import Ctx, Who, require_admin, require_row
from kitaru.server._errors import forbidden

router = APIRouter(tags=["memory"])
Scope = Annotated[str, Query(min_length=1, max_length=255)]
Key = Annotated[str, Query(min_length=1, max_length=255)]
_NAME = Field(min_length=1, max_length=255)
_EXEC = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


class BlobRef(BaseModel):
    """Where a value's bytes are: sha256, size, serializer, type, store root."""

    sha256: str = Field(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    serializer: str = Field(min_length=1, max_length=64)
    type: Any = None
    store: str = Field(min_length=1, max_length=2048)


class MemoryWrite(BaseModel):
    """Set a key: a new version holding `value`."""

    scope: str = _NAME
    key: str = _NAME
    value: BlobRef
    scope_type: str = Field(default="namespace", max_length=16)
    exec_id: str | None = _EXEC


class MemoryDelete(BaseModel):
    """Delete a key: a tombstone version."""

    scope: str = _NAME
    key: str = _NAME
    exec_id: str | None = _EXEC


class MemoryPurge(BaseModel):
    """Hard-delete old versions of one key (or, without key, of every key of the scope)."""

    scope: str = _NAME
    key: str | None = Field(default=None, min_length=1, max_length=255)
    keep: int = Field(default=1, ge=0, le=1_000_000)


class Source(BaseModel):
    """An entry a compaction summarised."""

    key: str = _NAME
    version: int = Field(ge=1, le=2**31 - 1)


class MemoryCompaction(BaseModel):
    """A compaction summary to record as a new version of `key`."""

    scope: str = _NAME
    key: str = _NAME
    value: BlobRef
    sources: list[Source] = Field(max_length=10_000)
    model: str | None = Field(default=None, max_length=255)
    scope_type: str = Field(default="namespace", max_length=16)


def require_writer(who: Principal) -> None:
    """Members, admins and runtimes write memory; a read-only viewer cannot."""
    if who.role == "viewer":
        raise forbidden("the viewer role is read-only; ask an admin for the member role to write memory")


def _writer_exec(who: Principal, exec_id: str | None) -> str | None:
    return who.exec if who.is_runtime else exec_id


@router.get("/memory/scopes")
def list_scopes(ctx: Ctx, who: Who) -> list[dict[str, Any]]:
    """Every scope with its key and version counts."""
    return ctx.state.memory_scopes()


@router.get("/memory/entries")
def list_entries(ctx: Ctx, who: Who, scope: Scope,
                 prefix: Annotated[str | None, Query(max_length=255)] = None,
                 include_deleted: bool = False,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    """The latest version of each key of a scope."""
    return ctx.state.memory_list(scope, prefix, include_deleted=include_deleted, limit=limit)


@router.get("/memory/entry")
def get_entry(ctx: Ctx, who: Who, scope: Scope, key: Key,
              version: Version = None) -> dict[str, Any]:
    """The latest (or a given) version of a key, tombstones included."""
    return require_row(ctx.state.memory_get(scope, key, version), f"memory key {key!r} in scope {scope!r}")


@router.get("/memory/history")
def history(ctx: Ctx, who: Who, scope: Scope, key: Key) -> list[dict[str, Any]]:
    """Every stored version of a key, newest first."""
    return ctx.state.memory_history(scope, key)


@router.put("/memory/entry")
def set_entry(body: MemoryWrite, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Append a new version of a key."""
    require_writer(who)
    return ctx.state.memory_set(body.scope, body.key, body.value.model_dump(), scope_type=body.scope_type,
                                exec_id=_writer_exec(who, body.exec_id), actor=who.name)


@router.post("/memory/delete")
def delete_entry(body: MemoryDelete, ctx: Ctx, who: Who) -> dict[str, Any] | None:
    """Append a tombstone; null if the key was not live."""
    require_writer(who)
    return ctx.state.memory_delete(body.scope, body.key, exec_id=_writer_exec(who, body.exec_id), actor=who.name)


@router.post("/memory/purge")
def purge(body: MemoryPurge, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Hard-delete old versions (admin); returns the audit record written."""
    require_admin(who)
    if body.key is None:
        return ctx.state.memory_purge_scope(body.scope, keep=body.keep, actor=who.name)
    return ctx.state.memory_purge(body.scope, body.key, keep=body.keep, actor=who.name)


@router.get("/memory/audit")
def audit_log(ctx: Ctx, who: Who, scope: Annotated[str | None, Query(max_length=255)] = None,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    """Purge audit records, newest first."""
    return ctx.state.memory_audit_log(scope, limit)


@router.post("/memory/compactions")
def compact(body: MemoryCompaction, ctx: Ctx, who: Who) -> dict[str, Any]:
    """Record a compaction summary (computed by the caller with kitaru.llm) as a new version, and log it."""
    require_writer(who)
    return ctx.state.memory_compact(body.scope, body.key, body.value.model_dump(),
                                    sources=[s.model_dump() for s in body.sources], model=body.model,
                                    scope_type=body.scope_type, actor=who.name)


@router.get("/memory/compactions")
def compaction_log(ctx: Ctx, who: Who, scope: Annotated[str | None, Query(max_length=255)] = None,
                   limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    """Compaction records, newest first."""
    return ctx.state.memory_compaction_log(scope, limit)


@router.post("/memory/reindex")
def reindex(ctx: Ctx, who: Who) -> dict[str, int]:
    """Rebuild the latest-version index from the stored versions (admin)."""
    require_admin(who)
    return ctx.state.memory_reindex()
