"""Shared plumbing of the MCP tools: the client, error translation, annotations, bounded previews."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from kitaru.mcp._light import MAX_PAGE, client

__all__ = ["DESTRUCTIVE", "MAX_PAGE", "READ_ONLY", "WRITES", "artifact_uri", "client", "parse_args", "preview",
           "to_json_text", "tool_errors"]

F = TypeVar("F", bound=Callable[..., Any])

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)



def tool_errors(fn: F) -> F:
    """Turn Kitaru errors (and bad input) into MCP tool errors whose text says what to do next."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from kitaru.errors import KitaruError

        try:
            return fn(*args, **kwargs)
        except ToolError:
            raise
        except (KitaruError, ValueError, LookupError) as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from exc
        except PermissionError as exc:
            raise ToolError(f"permission denied: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def parse_args(args: dict[str, Any] | str | None, what: str = "args") -> dict[str, Any]:
    """Flow inputs: a JSON object, or a string holding one; anything else is a tool error."""
    if args is None:
        return {}
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolError(f"{what} is not valid JSON ({exc.msg} at column {exc.colno}); pass a JSON object"
                            ' such as {"topic": "ai"}') from None
    if not isinstance(args, dict):
        raise ToolError(f'{what} must be a JSON object mapping input names to values, e.g. {{"topic": "ai"}}')
    return args


def to_json_text(value: Any) -> str:
    """A value as JSON text (non-JSON values as their repr inside a JSON string)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return json.dumps(repr(value))


def preview(value: Any, max_chars: int) -> tuple[str, bool, int]:
    """(preview text, truncated?, full length) of a value's JSON text."""
    text = value if isinstance(value, str) else to_json_text(value)
    return text[:max_chars], len(text) > max_chars, len(text)


def artifact_uri(exec_id: str, name: str) -> str:
    """The resource URI that returns an artifact's full value."""
    from urllib.parse import quote

    return f"kitaru://executions/{exec_id}/artifacts/{quote(name, safe='')}"
