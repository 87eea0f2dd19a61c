"""`KitaruAgent`: a PydanticAI agent whose runs inside a flow are journaled request by request."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic_ai.agent import AbstractAgent, AgentRun
from pydantic_ai.agent.wrapper import WrapperAgent
from pydantic_ai.tool_manager import ToolManager
from pydantic_ai.toolsets import FunctionToolset

from kitaru.adapters.pydantic_ai._hitl import HITL_MARK
from kitaru.adapters.pydantic_ai._journal import RunRecorder
from kitaru.adapters.pydantic_ai._model import KitaruModel
from kitaru.adapters.pydantic_ai._tools import ToolJournal
from kitaru.runtime._context import Stop, Suspend, checkpoint_metadata, current_checkpoint, current_context
from kitaru.sdk._llm import normalise_name

_RECORDER: contextvars.ContextVar[RunRecorder | None] = contextvars.ContextVar("kitaru_pai_run", default=None)
_SUMMARIES = "pydantic_ai_run_summaries"


def _function_tools(toolsets: Any) -> Iterator[tuple[str, Any]]:
    """(name, function) of every function tool in the agent's toolsets, wrappers included."""
    for toolset in toolsets:
        if isinstance(toolset, FunctionToolset):
            for name, tool in toolset.tools.items():
                yield name, tool.function
        inner = getattr(toolset, "wrapped", None) or getattr(toolset, "toolsets", None)
        if inner is not None:
            yield from _function_tools(inner if isinstance(inner, (list, tuple)) else [inner])


def _control_flow(group: BaseExceptionGroup) -> BaseException | None:
    """A Kitaru pause/stop signal wrapped in an exception group by a task group, if any."""
    for exc in group.exceptions:
        if isinstance(exc, (Suspend, Stop)):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _control_flow(exc)
            if found is not None:
                return found
    return None


class KitaruAgent(WrapperAgent[Any, Any]):
    """The wrapped agent with the same run API. Inside a flow body each model request is the step
    `<agent>_model_<n>` and each tool call `<agent>_tool_<tool>[_n]`; tool calls run one at a time so their
    order, and so the journal, is deterministic. Outside a flow it behaves exactly like the agent."""

    def __init__(self, wrapped: AbstractAgent[Any, Any], *, capture_default: str = "full",
                 capture_by_name: dict[str, str] | None = None, name: str | None = None) -> None:
        super().__init__(wrapped)
        self.kitaru_name = normalise_name(name or wrapped.name or "agent")
        self.capture_default = capture_default
        self.capture_by_name = dict(capture_by_name or {})

    def _hitl_names(self) -> frozenset[str]:
        return frozenset(n for n, fn in _function_tools(self.wrapped.toolsets) if getattr(fn, HITL_MARK, False))

    @asynccontextmanager
    async def iter(self, user_prompt: Any = None, **kwargs: Any) -> AsyncGenerator[Any]:
        """The wrapped agent's `iter`, with its model and tools journaled when running inside a flow."""
        if current_context() is None:
            async with self.wrapped.iter(user_prompt, **kwargs) as plain:
                yield plain
            return
        recorder = RunRecorder()
        token = _RECORDER.set(recorder)
        model = kwargs.get("model") or self.wrapped.model
        if model is not None:
            kwargs["model"] = KitaruModel(model, agent_name=self.kitaru_name, recorder=_RECORDER.get)
        journal = ToolJournal(agent_name=self.kitaru_name, capture_default=self.capture_default,
                              capture_by_name=self.capture_by_name, hitl_names=self._hitl_names(),
                              recorder=_RECORDER.get)
        kwargs["capabilities"] = [*(kwargs.get("capabilities") or []), journal]
        started = time.perf_counter()
        run: AgentRun[Any, Any] | None = None
        try:
            with ToolManager.parallel_execution_mode("sequential"):
                async with self.wrapped.iter(user_prompt, **kwargs) as run:
                    yield run
        except BaseExceptionGroup as group:
            signal = _control_flow(group)
            if signal is not None:
                raise signal from None
            self._record(recorder, run, started, error=group)
            raise
        except Exception as exc:
            self._record(recorder, run, started, error=exc)
            raise
        else:
            self._record(recorder, run, started)
        finally:
            _RECORDER.reset(token)

    def _record(self, recorder: RunRecorder, run: Any, started: float, error: BaseException | None = None) -> None:
        """Append this run's summary to `pydantic_ai_run_summaries` (the execution's, or the checkpoint's)."""
        summary: dict[str, Any] = {
            "agent": self.kitaru_name, "status": "failed" if error is not None else "completed",
            "model_requests": len(recorder.model_steps), "tool_calls": len(recorder.tool_steps),
            "model_steps": list(recorder.model_steps), "tool_steps": list(recorder.tool_steps),
            "replayed_steps": recorder.replayed, "streamed_requests": recorder.streamed,
            "duration_ms": (time.perf_counter() - started) * 1000,
        }
        result = getattr(run, "result", None) if run is not None else None
        if run is not None:
            try:
                usage = run.usage
                summary["usage"] = {"requests": usage.requests, "tool_calls": usage.tool_calls,
                                    "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
            except Exception as exc:  # noqa: BLE001 - usage is best effort for a run that failed early
                logging.getLogger("kitaru.adapters").debug("no usage for the failed run: %s", exc)
        if result is not None:
            summary["output_preview"] = repr(result.output)[:500]
        if error is not None:
            summary["error"] = f"{type(error).__name__}: {error}"[:500]
        ctx = current_context()
        if ctx is None:
            return
        md = checkpoint_metadata()
        if current_checkpoint() is not None and md is not None:
            md.setdefault(_SUMMARIES, []).append(summary)
            return
        with ctx.lock:
            summaries = getattr(ctx, "_pydantic_ai_run_summaries", None)
            if summaries is None:
                summaries = []
                ctx._pydantic_ai_run_summaries = summaries  # type: ignore[attr-defined]
            summaries.append(summary)
            snapshot = list(summaries)
        ctx.state.set_execution_metadata(ctx.exec_id, {_SUMMARIES: snapshot})
