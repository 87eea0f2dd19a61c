"""Fixtures for the LLM provider tests: a loopback fake endpoint and a clean provider env."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_openai import FakeLLMServer

_PROVIDER_ENV = [
    f"{p}_{suffix}"
    for p in ("OPENAI", "ANTHROPIC", "OLLAMA", "OPENROUTER")
    for suffix in ("API_KEY", "BASE_URL")
] + ["KITARU_DEFAULT_MODEL"]


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeLLMServer]:
    """One fake server for the session."""
    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeLLMServer) -> FakeLLMServer:
    """The fake server, reset for each test."""
    fake_server.reset()
    return fake_server


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real keys or endpoints leak in from the developer's shell."""
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink exponential backoff so retry tests take milliseconds (Retry-After cap kept at 2 s)."""
    from kitaru.providers import _http

    monkeypatch.setattr(_http, "_BACKOFF_BASE", 0.01)
    monkeypatch.setattr(_http, "_BACKOFF_MAX", 0.05)
    monkeypatch.setattr(_http, "_RETRY_AFTER_MAX", 2.0)
