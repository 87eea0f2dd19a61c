"""`KitaruModel`: a PydanticAI model whose requests are durable steps `<agent>_model_<n>` of the flow."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pydantic
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelResponse, ModelResponseStreamEvent
from pydantic_ai.models import CompletedStreamedResponse, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext

from kitaru.adapters.pydantic_ai._journal import RunRecorder, durable_call, journaling_context, next_model_id

_EVENTS = pydantic.TypeAdapter(list[ModelResponseStreamEvent])


def encode_response(response: ModelResponse) -> list[dict[str, Any]]:
    """A response as JSON, with PydanticAI's own message adapter (so it round-trips exactly)."""
    encoded: list[dict[str, Any]] = ModelMessagesTypeAdapter.dump_python([response], mode="json")
    return encoded


def decode_response(data: Any) -> ModelResponse:
    """The recorded response back as a ModelResponse."""
    (message,) = ModelMessagesTypeAdapter.validate_python(data)
    if not isinstance(message, ModelResponse):
        raise TypeError(f"recorded model step holds a {type(message).__name__}, not a ModelResponse")
    return message


def _usage_summary(response: ModelResponse, latency_ms: float) -> dict[str, Any]:
    """The `llm_calls[<call>]` entry (Kitaru 0.4's field names) for one model request."""
    usage = response.usage
    tin, tout = usage.input_tokens, usage.output_tokens
    cost = getattr(usage, "cost", None)
    return {"requested_model": response.model_name, "alias": None, "resolved_model": response.model_name,
            "credential_source": "pydantic_ai", "latency_ms": latency_ms, "tokens_input": tin,
            "tokens_output": tout, "total_tokens": tin + tout, "cost_usd": float(cost) if cost is not None else None}


class KitaruModel(WrapperModel):
    """Wraps the agent's model: in a flow body every request is journaled and, once recorded, never sent again."""

    def __init__(self, wrapped: Any, *, agent_name: str, recorder: Callable[[], RunRecorder | None]) -> None:
        super().__init__(wrapped)
        self.agent_name = agent_name
        self._recorder = recorder

    def _describe(self, streamed: bool) -> Callable[[dict[str, Any], str, Any, float], None]:
        def describe(md: dict[str, Any], call_id: str, value: Any, latency_ms: float) -> None:
            response = value[0] if streamed else value
            tool_calls = [p.tool_name for p in response.tool_calls]
            md.setdefault("llm_calls", {})[call_id] = _usage_summary(response, latency_ms)
            entry = {"kind": "model_request", "agent": self.agent_name, "model": response.model_name,
                     "tool_calls": tool_calls, "finish_reason": response.finish_reason, "streamed": streamed}
            if "pydantic_ai_calls" in md:
                md["pydantic_ai_calls"][call_id] = entry
            else:
                md["pydantic_ai"] = entry
            if streamed:
                from kitaru.runtime._context import current_context
                from kitaru.sdk._api import save_artifact

                ctx = current_context()
                if ctx is not None:
                    save_artifact(ctx, f"{call_id}_stream_transcript", _EVENTS.dump_python(value[1], mode="json"),
                                  type="pydantic_ai_stream_transcript")
        return describe

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        """One model request: the recorded response if this step completed before, else the wrapped model's."""
        ctx = journaling_context()
        response: ModelResponse = await durable_call(  # decode_response gives back a ModelResponse
            name=f"{self.agent_name}_model",
            explicit_id=next_model_id(ctx, self.agent_name) if ctx is not None else None,
            step_type="llm_call",
            inputs=(ModelMessagesTypeAdapter.dump_python(messages, mode="json"),),
            compute=lambda: self.wrapped.request(messages, model_settings, model_request_parameters),
            encode=encode_response, decode=decode_response, describe=self._describe(False),
            recorder=self._recorder(), kind="model")
        return response

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        """A streamed request. In a flow body the stream is drained into the journal (events kept as the
        `<call>_stream_transcript` artifact) and then replayed to the consumer; elsewhere it streams live."""
        from kitaru.runtime._context import current_context

        if current_context() is None:
            async with self.wrapped.request_stream(messages, model_settings, model_request_parameters,
                                                   run_context) as live:
                yield live
            return
        recorder = self._recorder()
        if recorder is not None:
            recorder.streamed += 1

        async def drain() -> tuple[ModelResponse, list[Any]]:
            events: list[Any] = []
            async with self.wrapped.request_stream(messages, model_settings, model_request_parameters,
                                                   run_context) as live:
                async for event in live:
                    events.append(event)
            return live.get(), events

        ctx = journaling_context()
        outcome = await durable_call(
            name=f"{self.agent_name}_model",
            explicit_id=next_model_id(ctx, self.agent_name) if ctx is not None else None,
            step_type="llm_call",
            inputs=(ModelMessagesTypeAdapter.dump_python(messages, mode="json"),),
            compute=drain,
            encode=lambda v: {"response": encode_response(v[0]), "streamed": True},
            decode=lambda d: (decode_response(d["response"]), None),
            describe=self._describe(True), recorder=recorder, kind="model")
        response, events = outcome
        yield CompletedStreamedResponse(response, model_request_parameters=model_request_parameters,
                                        replay_events=events if events is not None else True)
