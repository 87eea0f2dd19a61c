"""`@hitl_tool`: a tool whose answer comes from a human, through a flow-level `kitaru.wait`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

HITL_MARK = "__kitaru_hitl__"


def _question(question: str | Callable[..., str] | None, fn: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> str:
    """The question shown to the human: a callable gets the tool's arguments; a template gets them by name."""
    if callable(question):
        return str(question(*args, **kwargs))
    if question is None:
        doc = inspect.getdoc(fn)
        return doc.splitlines()[0] if doc else f"Input for {fn.__name__}"
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
        return question.format(**bound) if bound else question
    except (KeyError, IndexError, ValueError, TypeError):
        return question


def hitl_tool(
    fn: Callable[..., Any] | None = None,
    *,
    question: str | Callable[..., str] | None = None,
    schema: Any = None,
    name: str | None = None,
    timeout: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Decorate a tool so calling it pauses the flow as `kitaru.wait(question=..., schema=...)`; the answer is the
    tool's result. The function's signature and docstring describe the tool to the model; its body never runs.

    `question` may use the tool's arguments (`"Approve {amount} EUR?"`). Use it in the flow body (a wrapped agent
    run there): a wait cannot happen inside a checkpoint.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        wait_name = name or func.__name__

        @functools.wraps(func)
        def tool(*args: Any, **kwargs: Any) -> Any:
            import kitaru

            shown = _question(question, func, args, kwargs)
            extra = {**(metadata or {}), "pydantic_ai_tool": wait_name, "tool_args": _jsonable(kwargs)}
            return kitaru.wait(schema=schema, name=wait_name, question=shown, timeout=timeout, metadata=extra)

        setattr(tool, HITL_MARK, True)
        return tool

    return decorate(fn) if fn is not None else decorate


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    import json

    plain: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return plain
