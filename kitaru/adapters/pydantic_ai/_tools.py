"""Journaling tool calls: a PydanticAI capability whose `wrap_tool_execute` makes each call a durable step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.messages import ToolCallPart
from pydantic_ai.tools import RunContext, ToolDefinition

from kitaru.adapters.pydantic_ai._journal import RunRecorder, durable_call


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


class ToolJournal(AbstractCapability[Any]):
    """Each tool call of a wrapped agent becomes the step `<agent>_tool_<tool>[_n]`; capture modes decide what
    is recorded besides the result (`off` keeps the tool out of the journal). Human-in-the-loop tools are not
    wrapped: their `kitaru.wait` is the durable step."""

    def __init__(self, *, agent_name: str, capture_default: str, capture_by_name: dict[str, str],
                 hitl_names: frozenset[str], recorder: Callable[[], RunRecorder | None]) -> None:
        self.agent_name = agent_name
        self.capture_default = capture_default
        self.capture_by_name = capture_by_name
        self.hitl_names = hitl_names
        self._recorder = recorder

    def _describe(self, call: ToolCallPart, args: Any, mode: str) -> Callable[[dict[str, Any], str, Any, float], None]:
        def describe(md: dict[str, Any], call_id: str, value: Any, latency_ms: float) -> None:
            entry: dict[str, Any] = {"kind": "tool_call", "agent": self.agent_name, "tool": call.tool_name,
                                     "tool_call_id": call.tool_call_id, "capture": mode, "latency_ms": latency_ms}
            if mode == "full":
                entry["args"] = _jsonable(args)
                entry["result_preview"] = repr(value)[:200]
            else:
                entry["arg_names"] = sorted(args) if isinstance(args, dict) else []
            if "pydantic_ai_calls" in md:
                md["pydantic_ai_calls"][call_id] = entry
            else:
                md["pydantic_ai"] = entry
            if mode == "full":
                from kitaru.runtime._context import current_context
                from kitaru.sdk._api import save_artifact

                ctx = current_context()
                if ctx is not None:
                    save_artifact(ctx, f"{call_id}_args", _jsonable(args), type="pydantic_ai_tool_args")
                    save_artifact(ctx, f"{call_id}_result", value, type="pydantic_ai_tool_result")
        return describe

    async def wrap_tool_execute(
        self,
        ctx: RunContext[Any],
        *,
        call: ToolCallPart,
        tool_def: ToolDefinition,
        args: Any,
        handler: Any,
    ) -> Any:
        """Run the tool once per execution: a call the journal completed returns its recorded result."""
        mode = self.capture_by_name.get(call.tool_name, self.capture_default)
        if mode == "off" or call.tool_name in self.hitl_names:
            return await handler(args)
        return await durable_call(
            name=f"{self.agent_name}_tool_{call.tool_name}",
            explicit_id=None,
            step_type="tool_call",
            inputs=(call.tool_name, _jsonable(args)),
            compute=lambda: handler(args),
            encode=lambda v: v, decode=lambda v: v,
            describe=self._describe(call, args, mode),
            recorder=self._recorder(), kind="tool")
