"""Durable memory tools over `KitaruClient().memories` (a tool error where this Kitaru has no memory)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from kitaru.mcp._common import DESTRUCTIVE, MAX_PAGE, READ_ONLY, WRITES, client, preview, tool_errors

Scope = Annotated[str, Field(description="memory scope (namespace); default `default`")]
Key = Annotated[str, Field(description="memory key")]


class MemoryEntry(BaseModel):
    """One version of a key; `deleted` marks a tombstone."""

    scope: str
    key: str
    version: int
    deleted: bool
    created_at: str | None
    exec_id: str | None = None
    actor: str | None = None
    value: Any = Field(None, description="the value (absent from lists; cut to a preview if large)")
    value_truncated: bool = False


class MemoryList(BaseModel):
    """Entries, bounded."""

    items: list[MemoryEntry]
    truncated: bool


class MemoryRecord(BaseModel):
    """A purge audit or compaction record, as the client returns it."""

    record: dict[str, Any]


class MemoryRecords(BaseModel):
    """Records (newest first), bounded."""

    items: list[dict[str, Any]]
    truncated: bool


def memories() -> Any:
    """`client.memories`, or a tool error when this Kitaru installation has no durable memory."""
    api = getattr(client(), "memories", None)
    if api is None:
        raise ToolError("durable memory is not available in this Kitaru installation (KitaruClient has no"
                        " `memories`); upgrade Kitaru to a release with `kitaru.memory`")
    return api


def entry(e: Any, *, with_value: bool = True, max_chars: int = 4000) -> MemoryEntry:
    """MemoryEntry from the client's entry; large values become a JSON-text preview."""
    d = e.to_dict(with_value=False)
    out = MemoryEntry(**{k: d.get(k) for k in ("scope", "key", "version", "deleted", "created_at", "exec_id",
                                                "actor")})
    if with_value and not e.deleted:
        value = e.value
        text, cut, _ = preview(value, max_chars)
        out.value, out.value_truncated = (text if cut else value), cut
    return out


def register(mcp: MCPServer) -> None:
    """Add the `kitaru_memory_*` tools to `mcp`."""

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_memory_list(scope: Scope = "default",
                           prefix: Annotated[str | None, Field(description="only keys starting with this")] = None,
                           include_deleted: bool = False,
                           limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 50) -> MemoryList:
        """The latest version of each key of a scope (no values; read one with kitaru_memory_get)."""
        rows = memories().list(scope, prefix=prefix, include_deleted=include_deleted)
        return MemoryList(items=[entry(r, with_value=False) for r in rows[:limit]], truncated=len(rows) > limit)

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_memory_get(key: Key, scope: Scope = "default",
                          version: Annotated[int | None, Field(ge=1, description="a past version")] = None
                          ) -> MemoryEntry:
        """A key's latest (or given) version with its value; a tool error if the key never existed."""
        found = memories().get(key, scope=scope, version=version)
        if found is None:
            raise ToolError(f"memory key {key!r} does not exist in scope {scope!r}; list keys with kitaru_memory_list")
        return entry(found)

    @mcp.tool(annotations=WRITES)
    @tool_errors
    def kitaru_memory_set(key: Key, value: Annotated[Any, Field(description="any JSON value")],
                          scope: Scope = "default") -> MemoryEntry:
        """Write a new version of a key (earlier versions stay in its history)."""
        return entry(memories().set(key, value, scope=scope), with_value=False)

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_memory_delete(key: Key, scope: Scope = "default") -> MemoryEntry:
        """Tombstone a key (history is kept; purge removes versions for good)."""
        found = memories().delete(key, scope=scope)
        if found is None:
            raise ToolError(f"memory key {key!r} is not live in scope {scope!r}; nothing was deleted")
        return entry(found, with_value=False)

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_memory_history(key: Key, scope: Scope = "default",
                              limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 20) -> MemoryList:
        """Every stored version of a key, newest first, with values (bounded)."""
        rows = memories().history(key, scope=scope)
        return MemoryList(items=[entry(r, max_chars=1000) for r in rows[:limit]], truncated=len(rows) > limit)

    @mcp.tool(annotations=WRITES)
    @tool_errors
    def kitaru_memory_compact(scope: Scope = "default",
                              key: Annotated[str | None, Field(description="summarise this key's history")] = None,
                              keys: Annotated[list[str] | None, Field(description="summarise these keys")] = None,
                              prefix: Annotated[str | None, Field(description="summarise keys with this prefix")] = None,
                              target: Annotated[str | None, Field(description="key to write the summary to")] = None,
                              instructions: str | None = None) -> MemoryRecord:
        """Summarise memory with the configured LLM into a new version; returns the compaction record."""
        return MemoryRecord(record=memories().compact(scope, key=key, keys=keys, prefix=prefix, target=target,
                                                      instructions=instructions))

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_memory_purge(key: Key, scope: Scope = "default",
                            keep: Annotated[int, Field(ge=0, description="newest versions to keep")] = 1
                            ) -> MemoryRecord:
        """Hard-delete all but the newest `keep` versions of a key (admin only; irreversible)."""
        return MemoryRecord(record=memories().purge(key, scope=scope, keep=keep))

    @mcp.tool(annotations=DESTRUCTIVE)
    @tool_errors
    def kitaru_memory_purge_scope(scope: Annotated[str, Field(description="the scope to purge")],
                                  keep: Annotated[int, Field(ge=0, description="versions to keep per key")] = 1
                                  ) -> MemoryRecord:
        """`kitaru_memory_purge` for every key of a scope; keep=0 empties it (admin only; irreversible)."""
        return MemoryRecord(record=memories().purge_scope(scope, keep=keep))

    @mcp.tool(annotations=READ_ONLY)
    @tool_errors
    def kitaru_memory_compaction_log(scope: Annotated[str | None, Field(description="one scope (default: all)")] = None,
                                     limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 20) -> MemoryRecords:
        """Compaction records, newest first (bounded)."""
        rows = memories().compaction_log(scope)
        return MemoryRecords(items=rows[:limit], truncated=len(rows) > limit)
