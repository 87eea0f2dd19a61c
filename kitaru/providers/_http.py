"""HTTP providers over httpx: OpenAI-compatible chat completions and the Anthropic Messages API.

Imported lazily by ``kitaru.providers.complete`` so that ``import kitaru`` never loads httpx.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import time
from typing import Any

import httpx

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.providers._types import api_key_env_var

__all__ = ["complete_http", "resolve_base_url"]

_DEFAULT_BASE = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://127.0.0.1:11434/v1",
    "openrouter": "https://openrouter.ai/api/v1",
}
_ANTHROPIC_VERSION = "2023-06-01"
_ANTHROPIC_DEFAULT_MAX_TOKENS = 1024
# Backoff: base * 2**attempt with jitter, capped; Retry-After is honoured up to its own cap.
_BACKOFF_BASE = 0.5
_BACKOFF_MAX = 8.0
_RETRY_AFTER_MAX = 30.0
_MAX_ERROR_CHARS = 500


def _ollama_host() -> str | None:
    """OLLAMA_HOST as Ollama reads it (`host:port` or a URL) → its OpenAI-compatible root `<url>/v1`."""
    host = os.environ.get("OLLAMA_HOST", "").strip().rstrip("/")
    if not host:
        return None
    if "://" not in host:
        host = f"http://{host}"
    return host if host.endswith("/v1") else f"{host}/v1"


def resolve_base_url(provider: str, base_url: str | None) -> str:
    """The endpoint root: explicit base_url, else <PROVIDER>_BASE_URL (for ollama/ also OLLAMA_HOST, as
    Ollama and Kitaru 0.4 read it), else the public default."""
    url = (base_url or os.environ.get(f"{provider.upper()}_BASE_URL")
           or (_ollama_host() if provider == "ollama" else None) or _DEFAULT_BASE[provider])
    if not url.startswith(("http://", "https://")):
        source = "base_url" if base_url else f"{provider.upper()}_BASE_URL"
        raise KitaruUsageError(
            f"{source} must be an http:// or https:// URL, got {url!r} "
            f"(e.g. {_DEFAULT_BASE[provider]!r})."
        )
    return url.rstrip("/")


def _api_key(provider: str, name: str, api_key: str | None) -> str | None:
    """Explicit key, else the provider's env var; a required but missing key is a usage error."""
    if api_key:
        return api_key
    if provider == "ollama":
        return os.environ.get("OLLAMA_API_KEY") or None
    env = api_key_env_var(provider)
    key = os.environ.get(env) if env else None
    if not key:
        raise KitaruUsageError(
            f"No API key for '{provider}/{name}': set {env} in the environment, or store the key "
            f"with `kitaru secrets create NAME --{env}=...` and bind it to a model alias with "
            f"`kitaru model register ALIAS --model {provider}/{name} --secret NAME`."
        )
    return key


def _scrub(text: str, secret: str | None) -> str:
    """Remove the API key from any text that might end up in an error message or log."""
    return text.replace(secret, "***") if secret else text


def _error_detail(response: httpx.Response) -> str:
    """The provider's own error message from an error response (OpenAI and Anthropic shapes)."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:_MAX_ERROR_CHARS].strip() or response.reason_phrase
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict) and err.get("message"):
        kind = err.get("type") or err.get("code")
        return f"{err['message']} ({kind})" if kind else str(err["message"])
    if isinstance(err, str):
        return err
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return json.dumps(data)[:_MAX_ERROR_CHARS]


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, Retry-After seconds or date), capped."""
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return min(max(float(headers["retry-after-ms"]) / 1000, 0.0), _RETRY_AFTER_MAX)
        if "retry-after" in headers:
            value = headers["retry-after"].strip()
            try:
                seconds = float(value)
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                seconds = when.timestamp() - time.time()
            return min(max(seconds, 0.0), _RETRY_AFTER_MAX)
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter for the given (0-based) retry number."""
    delay = min(_BACKOFF_BASE * (2.0**attempt), _BACKOFF_MAX)
    return delay * random.uniform(0.5, 1.0)


def _is_retryable(status: int) -> bool:
    """408, 409, 429 and 5xx (incl. Anthropic's 529) are transient, as the official SDKs agree."""
    return status in (408, 409, 429) or status >= 500


def _json_object(
    provider: str, url: str, response: httpx.Response, secret: str | None
) -> dict[str, Any]:
    """The JSON object of a successful response; anything else is a backend error."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise KitaruBackendError(
            f"{provider} returned a response that is not a JSON object from {url}: "
            f"{_scrub(response.text[:_MAX_ERROR_CHARS], secret)}"
        )
    return data


def _post(
    provider: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any],
    *,
    timeout: float,
    max_retries: int,
    secret: str | None,
) -> dict[str, Any]:
    """POST JSON with retries on 429/5xx/connection errors; return the decoded JSON body."""
    limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
    last = ""
    attempts = max(0, max_retries) + 1
    with httpx.Client(timeout=limits, follow_redirects=False) as client:
        for attempt in range(attempts):
            wait: float | None = None
            try:
                response = client.post(url, headers=headers, json=body)
            except httpx.TransportError as exc:  # connect errors, timeouts, broken connections
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 300:
                    return _json_object(provider, url, response, secret)
                detail = _scrub(_error_detail(response), secret)
                last = f"HTTP {response.status_code}: {detail}"
                if not _is_retryable(response.status_code):
                    raise KitaruBackendError(
                        f"{provider} rejected the request for model {body.get('model')!r} "
                        f"({last}).{_hint(provider, response.status_code)}"
                    )
                wait = _retry_after(response)
            if attempt + 1 < attempts:
                time.sleep(wait if wait is not None else _backoff(attempt))
    raise KitaruBackendError(
        f"{provider} request to {url} failed after {attempts} attempt(s): "
        f"{_scrub(last, secret)}. Check that the endpoint is up and reachable, "
        "or raise max_retries / try again later."
    )


def _hint(provider: str, status: int) -> str:
    """What to do next for common non-retryable statuses."""
    env = api_key_env_var(provider)
    if status in (401, 403) and env:
        return f" Check the API key ({env}, or the secret bound to the model alias)."
    if status == 404:
        return " Check the model name and the base URL."
    return ""


def _openai_request(
    provider: str,
    name: str,
    messages: list[dict[str, str]],
    temperature: float | None,
    max_tokens: int | None,
    key: str | None,
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Path, headers and body of an OpenAI-compatible chat completion."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if provider == "openrouter":
        headers["X-Title"] = "Kitaru"
    body: dict[str, Any] = {"model": name, "messages": messages}
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        # OpenAI deprecated max_tokens (reasoning models reject it); compatible servers expect it.
        body["max_completion_tokens" if provider == "openai" else "max_tokens"] = max_tokens
    return "/chat/completions", headers, body


def _openai_parse(data: dict[str, Any]) -> tuple[str, int | None, int | None]:
    """Text and token usage of an OpenAI-compatible chat completion response."""
    try:
        content = data["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise KitaruBackendError(
            f"Unexpected chat completion response (no choices[0].message): {json.dumps(data)[:300]}"
        ) from exc
    if isinstance(content, list):  # content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    usage = data.get("usage") or {}
    return content or "", usage.get("prompt_tokens"), usage.get("completion_tokens")


def _anthropic_request(
    name: str,
    messages: list[dict[str, str]],
    temperature: float | None,
    max_tokens: int | None,
    key: str | None,
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Path, headers and body of an Anthropic Messages API call (system prompt is top-level)."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] in ("system", "developer"))
    chat = [
        {"role": m["role"], "content": m["content"]}
        for m in messages
        if m["role"] not in ("system", "developer")
    ]
    body: dict[str, Any] = {
        "model": name,
        "max_tokens": max_tokens if max_tokens is not None else _ANTHROPIC_DEFAULT_MAX_TOKENS,
        "messages": chat,
    }
    if system:
        body["system"] = system
    if temperature is not None:
        body["temperature"] = temperature
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "anthropic-version": _ANTHROPIC_VERSION,
        "x-api-key": key or "",
    }
    return "/messages", headers, body


def _anthropic_parse(data: dict[str, Any]) -> tuple[str, int | None, int | None]:
    """Text and token usage of an Anthropic Messages API response."""
    blocks = data.get("content")
    if not isinstance(blocks, list):
        raise KitaruBackendError(
            f"Unexpected Anthropic response (no content list): {json.dumps(data)[:300]}"
        )
    text = "".join(
        b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"
    )
    usage = data.get("usage") or {}
    return text, usage.get("input_tokens"), usage.get("output_tokens")


def complete_http(
    provider: str,
    name: str,
    messages: list[dict[str, str]],
    *,
    temperature: float | None,
    max_tokens: int | None,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
) -> tuple[str, int | None, int | None]:
    """Run one chat call against an HTTP provider; return (text, tokens_in, tokens_out)."""
    key = _api_key(provider, name, api_key)
    root = resolve_base_url(provider, base_url)
    if provider == "anthropic":
        path, headers, body = _anthropic_request(name, messages, temperature, max_tokens, key)
        root = root if root.endswith("/v1") else f"{root}/v1"
        parse = _anthropic_parse
    else:
        path, headers, body = _openai_request(
            provider, name, messages, temperature, max_tokens, key
        )
        parse = _openai_parse
    data = _post(
        provider, root + path, headers, body, timeout=timeout, max_retries=max_retries, secret=key
    )
    return parse(data)
