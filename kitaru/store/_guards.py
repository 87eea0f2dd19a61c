"""What the state service refuses, the same way on every backend: bad names, oversized values, journal rewrites.

Every check here runs in the service layer (embedded SQLite, a server on SQLite or PostgreSQL), so one
input gets one answer everywhere, before any database sees it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from kitaru.errors import KitaruStateError, KitaruUsageError

NAME_MAX = 255
ID_MAX = 64
_NAME = re.compile(r"[^\W_]|[._-]")  # one allowed character: a letter or digit (any script), '.', '_' or '-'
_ASCII_NAME = re.compile(r"[A-Za-z0-9._-]+")


def _limit(env: str, default: int) -> int:
    try:
        return int(os.environ.get(env, "") or default)
    except ValueError:
        return default


METADATA_MAX = _limit("KITARU_MAX_METADATA_BYTES", 256 * 1024)
"""Largest metadata document (execution, checkpoint or wait), as JSON bytes."""
LOG_LINE_MAX = _limit("KITARU_MAX_LOG_LINE_BYTES", 64 * 1024)
"""Longest stored log line (characters); the runtime splits longer output before shipping it."""
TEXT_MAX = _limit("KITARU_MAX_TEXT_BYTES", 64 * 1024)
"""Longest free text stored with a record (a wait's question, a checkpoint's input preview)."""


def check_name(value: Any, what: str, *, max_length: int = NAME_MAX) -> str:
    """`value` if it is a valid name or id (letters, digits, '.', '_', '-'; 1..max_length characters);
    KitaruUsageError naming `what` otherwise. One rule for every backend and every kind of name."""
    if isinstance(value, str) and 0 < len(value) <= max_length and (
        _ASCII_NAME.fullmatch(value) or all(_NAME.fullmatch(c) for c in value)
    ):
        return value
    shown = repr(value)[:80] if isinstance(value, str) else type(value).__name__
    raise KitaruUsageError(
        f"invalid {what} {shown}: use 1-{max_length} letters, digits, '.', '_' or '-'"
        " (no spaces, '/', or control characters)"
    )


def check_text(value: Any, what: str, *, max_length: int = TEXT_MAX) -> Any:
    """Free text (None allowed) without NUL characters (PostgreSQL cannot store them) and bounded in length."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise KitaruUsageError(f"{what} must be text, got {type(value).__name__}")
    if "\x00" in value:
        raise KitaruUsageError(f"{what} contains a NUL character; remove it")
    if len(value) > max_length:
        raise KitaruUsageError(f"{what} is {len(value)} characters long; at most {max_length} are stored")
    return value


def check_metadata(value: Any, what: str = "metadata") -> Any:
    """A JSON metadata document no larger than METADATA_MAX bytes."""
    if value is None:
        return None
    size = len(json.dumps(value, separators=(",", ":"), default=str))
    if size > METADATA_MAX:
        raise KitaruUsageError(f"{what} is {size} bytes as JSON; at most {METADATA_MAX} are stored"
                               " (store large values with kitaru.save() instead)")
    return value


def check_call(call: dict[str, Any]) -> None:
    """A checkpoint call record's names, as the journal stores them."""
    check_name(call.get("exec_id"), "execution id", max_length=ID_MAX)
    check_name(call.get("invocation_id"), "checkpoint id")
    check_name(call.get("name"), "checkpoint name")
    check_name(call.get("type", "checkpoint"), "checkpoint type", max_length=32)
    check_text(call.get("input_preview"), "input preview")


def like_prefix(prefix: str) -> str:
    """A LIKE pattern (with `ESCAPE '!'`) matching values that start with `prefix` literally: `%` and `_` are
    characters here, not wildcards."""
    return prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def clean_log_message(message: str) -> str:
    """A log line as stored: NULs replaced (PostgreSQL rejects them), bounded to LOG_LINE_MAX characters."""
    if "\x00" in message:
        message = message.replace("\x00", "\ufffd")
    return message if len(message) <= LOG_LINE_MAX else message[: LOG_LINE_MAX - 1] + "…"


def refused_journal_write(exec_id: str, invocation_id: str, *, attempt: int, lease_held: bool,
                          recorded_attempts: int | None, completing: bool) -> Exception | None:
    """Why a fenced journal write changed nothing: None for a commit of a call that is already completed
    (a retry; the first record stands), else the error to raise (the lease is lost, or the call is
    completed and cannot fail). `attempt` and `recorded_attempts` are kept for the message's callers."""
    from kitaru.store.service import LeaseLost

    if not lease_held:
        return LeaseLost(exec_id)
    if completing:
        return None  # a commit retried (or raced) by the lease holder: the first record stands, unchanged
    return KitaruStateError(
        f"checkpoint {invocation_id!r} of execution {exec_id} is already completed; a completed checkpoint's"
        " record is final and cannot become failed or running"
    )
