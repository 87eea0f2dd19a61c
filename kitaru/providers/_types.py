"""Provider-neutral types and helpers of the LLM layer: the response, model names, messages."""

from __future__ import annotations

from dataclasses import dataclass

from kitaru.errors import KitaruUsageError

__all__ = ["PROVIDERS", "LLMResponse", "api_key_env_var", "build_messages", "split_model"]

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "ollama", "openrouter", "local")

_KEY_ENV: dict[str, str | None] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "ollama": None,  # optional: OLLAMA_API_KEY is sent when set
    "local": None,
}
_ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})


@dataclass(frozen=True)
class LLMResponse:
    """What one model call returned, with the accounting that Kitaru records for it."""

    text: str
    model: str  # full "provider/name" actually used
    provider: str  # "openai" | "anthropic" | "ollama" | "openrouter" | "local" | "mock"
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: float
    cost_usd: float | None


def _prefix_list() -> str:
    """Valid prefixes as shown in error messages."""
    return ", ".join(f"{p}/" for p in PROVIDERS)


def _guess(model: str) -> str:
    """A 'did you mean' hint for a model name given without its provider prefix."""
    lowered = model.lower()
    if lowered.startswith(("gpt-", "o1", "o3", "o4", "chatgpt-")):
        return f" Did you mean 'openai/{model}'?"
    if lowered.startswith("claude"):
        return f" Did you mean 'anthropic/{model}'?"
    return ""


def split_model(model: str) -> tuple[str, str]:
    """Split "provider/name" into its parts, so each provider gets the name it expects."""
    if not isinstance(model, str) or not model.strip():
        raise KitaruUsageError(
            f"Model must be a non-empty 'provider/name' string, got {model!r}. "
            f"Valid provider prefixes: {_prefix_list()} (e.g. 'openai/gpt-4o-mini')."
        )
    model = model.strip()
    provider, sep, name = model.partition("/")
    if not sep or provider not in PROVIDERS:
        what = (
            "has no provider prefix" if not sep else f"has an unknown provider prefix '{provider}/'"
        )
        raise KitaruUsageError(
            f"Model {model!r} {what}. Valid provider prefixes: {_prefix_list()} "
            f"(e.g. 'openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku-latest', 'local/smollm2')."
            f"{_guess(model)} Or register an alias: "
            "kitaru model register ALIAS --model provider/name"
        )
    if not name.strip():
        raise KitaruUsageError(
            f"Model {model!r} names no model after '{provider}/': "
            f"use e.g. '{provider}/<model-name>'."
        )
    return provider, name.strip()


def api_key_env_var(provider: str) -> str | None:
    """The env var holding the provider's API key (None if it needs none), for lookups and hints."""
    if provider not in _KEY_ENV:
        raise KitaruUsageError(
            f"Unknown LLM provider {provider!r}. Valid providers: {', '.join(PROVIDERS)}."
        )
    return _KEY_ENV[provider]


def _check_message(i: int, message: object) -> dict[str, str]:
    """Validate one chat message and return a copy of it."""
    if not isinstance(message, dict):
        raise KitaruUsageError(
            f"messages[{i}] must be a dict like {{'role': 'user', 'content': '...'}}, "
            f"got {type(message).__name__}."
        )
    role, content = message.get("role"), message.get("content")
    if role not in _ROLES:
        raise KitaruUsageError(
            f"messages[{i}] has role {role!r}; use one of {', '.join(sorted(_ROLES))}."
        )
    if not isinstance(content, str):
        raise KitaruUsageError(
            f"messages[{i}] needs a string 'content', got {type(content).__name__}."
        )
    return dict(message)


def build_messages(
    prompt_or_messages: str | list[dict[str, str]], system: str | None
) -> list[dict[str, str]]:
    """Normalize a prompt or chat list (plus optional system prompt) into chat messages."""
    if system is not None and not isinstance(system, str):
        raise KitaruUsageError(f"system must be a string, got {type(system).__name__}.")
    head = [{"role": "system", "content": system}] if system else []
    if isinstance(prompt_or_messages, str):
        return [*head, {"role": "user", "content": prompt_or_messages}]
    if isinstance(prompt_or_messages, (list, tuple)):
        if not prompt_or_messages:
            raise KitaruUsageError(
                "messages is empty: pass a prompt string or at least one {'role', 'content'} dict."
            )
        return [*head, *(_check_message(i, m) for i, m in enumerate(prompt_or_messages))]
    raise KitaruUsageError(
        "kitaru.llm() takes a prompt string or a list of {'role': ..., 'content': ...} dicts, "
        f"got {type(prompt_or_messages).__name__}."
    )
