"""Compaction: summarise memory entries with the configured LLM into a new version, recorded in the compaction log."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruUsageError
from kitaru.memory._models import MemoryEntry, store_value
from kitaru.store._memory import RESERVED_PREFIX, check_key, check_name

if TYPE_CHECKING:
    from kitaru.store import StateStore

DEFAULT_TARGET = RESERVED_PREFIX + "summary"
_INSTRUCTIONS = ("Summarise the following memory entries of an AI agent into one concise note that keeps every"
                 " fact, preference and decision still relevant. Answer with the note only.")
_MAX_VALUE_CHARS = 4000


def _summarise(prompt: str, model: str | None) -> tuple[str, str | None]:
    """(text, model) from one LLM call: kitaru.llm's provider path (honours KITARU_LLM_MOCK_RESPONSE and aliases)."""
    from kitaru.sdk._llm import _call

    text, record = _call([{"role": "user", "content": prompt}], model, None, None)
    return text, record.get("model")


def _render(entries: list[MemoryEntry]) -> str:
    lines = []
    for e in entries:
        try:
            text = json.dumps(e.value, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(e.value)
        lines.append(f"- {e.key} (v{e.version}): {text[:_MAX_VALUE_CHARS]}")
    return "\n".join(lines)


def compact(state: StateStore, scope: str, *, key: str | None = None, keys: list[str] | None = None,
            prefix: str | None = None, target: str | None = None, model: str | None = None,
            instructions: str | None = None, scope_type: str | None = None) -> dict[str, Any]:
    """Summarise a key's history (`key`) or a scope's live entries (optionally `keys`/`prefix`) into a new version
    of `key` (or of `target`, default `_compaction/summary`); returns the compaction record."""
    check_name(scope, "scope")
    if key is not None:
        check_key(key)
        sources = [MemoryEntry.from_record(r) for r in state.memory_history(scope, key) if not r["deleted"]]
        sources.reverse()  # oldest first reads like a story
        dest = key
    else:
        dest = target or DEFAULT_TARGET
        check_key(dest, reserved_ok=True)
        wanted = {check_name(k) for k in keys} if keys else None
        sources = [MemoryEntry.from_record(r) for r in state.memory_list(scope, prefix)
                   if not r["key"].startswith(RESERVED_PREFIX) and (wanted is None or r["key"] in wanted)]
    if not sources:
        what = f"key {key!r}" if key is not None else f"scope {scope!r}"
        raise KitaruUsageError(f"nothing to compact: {what} has no live entries; see `kitaru memory list --scope {scope}`")
    prompt = f"{instructions or _INSTRUCTIONS}\n\nScope: {scope}\n{_render(sources)}"
    text, used_model = _summarise(prompt, model)
    current = state.memory_get(scope, dest)
    kind = scope_type or (current["scope_type"] if current else sources[0].scope_type)
    return state.memory_compact(scope, dest, store_value(text), model=used_model, scope_type=kind,
                                sources=[{"key": e.key, "version": e.version} for e in sources])
