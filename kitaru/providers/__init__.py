"""Provider layer of ``kitaru.llm()``: one chat call to openai/, anthropic/, ollama/,
openrouter/ or local/.

Cheap to import: httpx and llama_cpp are loaded only when a call needs them.
"""

from __future__ import annotations

import time

from kitaru.errors import KitaruUsageError
from kitaru.providers._pricing import cost_usd
from kitaru.providers._resolve import resolve_model
from kitaru.providers._types import PROVIDERS, LLMResponse, api_key_env_var, build_messages, split_model

__all__ = [
    "PROVIDERS",
    "LLMResponse",
    "api_key_env_var",
    "build_messages",
    "complete",
    "resolve_model",
    "split_model",
]


def _check_options(timeout: float, max_retries: int, max_tokens: int | None) -> None:
    """Reject option values that would hang, loop or be refused by every provider."""
    if not timeout or timeout <= 0:
        raise KitaruUsageError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    if max_retries < 0:
        raise KitaruUsageError(f"max_retries must be >= 0, got {max_retries!r}.")
    if max_tokens is not None and max_tokens <= 0:
        raise KitaruUsageError(f"max_tokens must be a positive integer, got {max_tokens!r}.")


def complete(
    model: str,
    messages: list[dict[str, str]],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 120.0,
    max_retries: int = 3,
) -> LLMResponse:
    """Run one chat completion on "provider/name" and return its text, tokens, latency and cost."""
    provider, name = split_model(model)
    messages = build_messages(messages, None)
    _check_options(timeout, max_retries, max_tokens)
    start = time.perf_counter()
    if provider == "local":
        from kitaru.providers._local import complete_local

        text, tokens_in, tokens_out = complete_local(
            name, messages, temperature=temperature, max_tokens=max_tokens
        )
    else:
        from kitaru.providers._http import complete_http

        text, tokens_in, tokens_out = complete_http(
            provider,
            name,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )
    latency_ms = (time.perf_counter() - start) * 1000.0
    return LLMResponse(
        text=text,
        model=f"{provider}/{name}",
        provider=provider,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=latency_ms,
        cost_usd=cost_usd(provider, name, tokens_in, tokens_out),
    )
