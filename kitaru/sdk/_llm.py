"""`kitaru.llm()`: a durable model call, recorded with prompt, response, tokens, latency and cost."""

from __future__ import annotations

import os
import time
from typing import Any

from kitaru.runtime._context import checkpoint_metadata, current_checkpoint, current_context


def _call(messages: list[dict[str, str]], model: str | None, temperature: float | None,
          max_tokens: int | None) -> tuple[str, dict[str, Any]]:
    from kitaru.config import resolve_model_selection
    from kitaru.providers import complete

    selection = resolve_model_selection(model)
    mock = os.environ.get("KITARU_LLM_MOCK_RESPONSE")
    started = time.perf_counter()
    if mock is not None:
        record = {"model": selection["model"], "provider": "mock", "tokens_in": None, "tokens_out": None,
                  "cost_usd": None, "latency_ms": (time.perf_counter() - started) * 1000}
        return mock, record
    resp = complete(selection["model"], messages, temperature=temperature, max_tokens=max_tokens,
                    api_key=selection.get("api_key"))
    return resp.text, {"model": resp.model, "provider": resp.provider, "tokens_in": resp.tokens_in,
                       "tokens_out": resp.tokens_out, "cost_usd": resp.cost_usd, "latency_ms": resp.latency_ms}


def llm(
    prompt: str | list[dict[str, str]],
    *,
    model: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    name: str | None = None,
) -> str:
    """Call a model. In a flow body this is its own checkpoint (type `llm_call`); inside a
    checkpoint it is recorded on that checkpoint; outside a flow it is a plain call."""
    from kitaru.providers import build_messages

    messages = build_messages(prompt, system)

    def call_and_record(*_args: Any, **_kwargs: Any) -> str:
        text, record = _call(messages, model, temperature, max_tokens)
        entry = {**record, "messages": messages, "response": text}
        md = checkpoint_metadata()
        if md is not None and own_step:
            md.update(entry)  # this llm_call checkpoint's own record
        elif md is not None:
            md.setdefault("llm_calls", []).append(entry)  # one of the enclosing checkpoint's calls
        return text

    ctx = current_context()
    own_step = ctx is not None and current_checkpoint() is None
    if ctx is None or not own_step:
        return call_and_record()
    from kitaru.runtime._steps import StepSpec, run_step

    step_name = name or "llm"
    inv, seq, rec = ctx.assign(step_name, None, "llm_call")
    spec = StepSpec(name=step_name, fn=call_and_record, type="llm_call")
    return run_step(ctx, spec, (messages,), {"model": model, "temperature": temperature, "max_tokens": max_tokens},
                    inv=inv, seq=seq, rec=rec)
