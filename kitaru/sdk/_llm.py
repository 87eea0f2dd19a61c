"""`kitaru.llm()`: a durable model call, recorded with prompt, response, tokens, latency and cost.

Call ids are `llm_1`, `llm_2`, ... (or the `name=` given, normalised `\\W+ → _`). Each call is recorded in
its checkpoint's metadata under `llm_calls[<call>]`, with `<call>_prompt` / `<call>_response` artifacts.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from kitaru.errors import KitaruContextError
from kitaru.runtime._context import checkpoint_metadata, current_checkpoint, current_context

_NON_WORD = re.compile(r"\W+")
_BODY_COUNTER = "\0llm-calls"  # per-execution counter of unnamed flow-body calls (kept with the id counters)


def normalise_name(name: str) -> str:
    """A call name usable as an id: runs of non-word characters become `_`."""
    cleaned = _NON_WORD.sub("_", name).strip("_")
    return cleaned or "llm"


def _call(messages: list[dict[str, str]], model: str | None, temperature: float | None,
          max_tokens: int | None) -> tuple[str, dict[str, Any]]:
    from kitaru.config._aliases import select_model
    from kitaru.providers import complete

    selection = select_model(model)
    chosen = {"requested_model": model, "alias": selection["alias"], "resolved_model": selection["model"],
              "credential_source": selection["credential_source"]}
    mock = os.environ.get("KITARU_LLM_MOCK_RESPONSE")  # the supported offline mode (README "Operational settings")
    started = time.perf_counter()
    if mock is not None:
        record = {"model": selection["model"], "provider": "mock", "tokens_in": None, "tokens_out": None,
                  "cost_usd": None, "latency_ms": (time.perf_counter() - started) * 1000}
        return mock, {**record, **chosen, "credential_source": "mock"}
    resp = complete(selection["model"], messages, temperature=temperature, max_tokens=max_tokens,
                    api_key=selection.get("api_key"))
    return resp.text, {"model": resp.model, "provider": resp.provider, "tokens_in": resp.tokens_in,
                       "tokens_out": resp.tokens_out, "cost_usd": resp.cost_usd, "latency_ms": resp.latency_ms,
                       **chosen}


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """The `llm_calls[<call>]` entry, in Kitaru 0.4's field names."""
    tin, tout = record.get("tokens_in"), record.get("tokens_out")
    return {"requested_model": record.get("requested_model"), "alias": record.get("alias"),
            "resolved_model": record.get("resolved_model") or record.get("model"),
            "credential_source": record.get("credential_source"), "latency_ms": record.get("latency_ms"),
            "tokens_input": tin, "tokens_output": tout,
            "total_tokens": tin + tout if tin is not None and tout is not None else None,
            "cost_usd": record.get("cost_usd")}


def _id_inside_checkpoint(md: dict[str, Any], name: str | None) -> str:
    """The next call id within the running checkpoint (deterministic per attempt)."""
    calls = md.get("llm_calls") or {}
    if name is None:
        n = sum(1 for k in calls if re.fullmatch(r"llm_\d+", k)) + 1
        while f"llm_{n}" in calls:
            n += 1
        return f"llm_{n}"
    base, n, call_id = normalise_name(name), 1, normalise_name(name)
    while call_id in calls:
        n += 1
        call_id = f"{base}_{n}"
    return call_id


def llm(
    prompt: str | list[dict[str, str]],
    *,
    model: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    name: str | None = None,
) -> str:
    """Call a model. In a flow body this is its own checkpoint (type `llm_call`); inside a checkpoint it is
    recorded on that checkpoint. Outside a flow: KitaruContextError, as in Kitaru 0.4."""
    from kitaru.providers import build_messages

    ctx = current_context()
    if ctx is None:
        raise KitaruContextError("kitaru.llm() can only be called inside a @flow or a @checkpoint; start the flow"
                                 " with .run() (to try a model by hand, call the provider's own client)")
    messages = build_messages(prompt, system)
    own_step = current_checkpoint() is None

    def call_and_record(call_id: str) -> str:
        from kitaru.sdk._api import save_artifact

        text, record = _call(messages, model, temperature, max_tokens)
        md = checkpoint_metadata()
        if md is not None:
            if own_step:
                md.update({**record, "messages": messages, "response": text})  # this llm_call checkpoint's record
            md.setdefault("llm_calls", {})[call_id] = _summary(record)
        save_artifact(ctx, f"{call_id}_prompt", messages, type="llm_prompt")
        save_artifact(ctx, f"{call_id}_response", text, type="llm_response")
        return text

    if not own_step:
        md = checkpoint_metadata()
        return call_and_record(_id_inside_checkpoint(md if md is not None else {}, name))
    from kitaru.runtime._steps import StepSpec, run_step

    if name is None:
        with ctx.lock:
            n = ctx.name_counts.get(_BODY_COUNTER, 0) + 1
            ctx.name_counts[_BODY_COUNTER] = n
        step_name, explicit = "llm", f"llm_{n}"
    else:
        step_name, explicit = normalise_name(name), None
    inv, seq, rec = ctx.assign(step_name, explicit, "llm_call")
    spec = StepSpec(name=step_name, fn=lambda *_a, **_k: call_and_record(inv), type="llm_call", cache=False)
    return run_step(ctx, spec, (messages,), {"model": model, "temperature": temperature, "max_tokens": max_tokens},
                    inv=inv, seq=seq, rec=rec)
