"""`kitaru.llm()` as a durable call: recorded once, with tokens/cost/latency, against a loopback endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import kitaru
from kitaru.client import KitaruClient
from kitaru.config import register_model_alias, resolve_model_selection
from tests.providers.fake_openai import FakeLLMServer


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.delenv("OPENAI_ORG", raising=False)
    yield server
    server.stop()


@kitaru.checkpoint
def summarize(text: str) -> str:
    return kitaru.llm(f"Summarize: {text}", model="openai/gpt-4o-mini")


@kitaru.flow
def writer(topic: str) -> str:
    draft = kitaru.llm(f"Write about {topic}", model="openai/gpt-4o-mini", system="Be brief", name="draft")
    return summarize(draft)


def test_llm_in_body_is_an_llm_call_checkpoint_and_inside_a_checkpoint_is_recorded_on_it(fake: FakeLLMServer) -> None:
    handle = writer.run("agents")
    assert handle.wait() == "echo: Summarize: echo: Write about agents"  # the fake echoes the last user message
    ex = KitaruClient().executions.get(handle.exec_id)
    draft, summary = ex.checkpoints
    assert (draft.invocation_id, draft.type) == ("draft", "llm_call")
    md = draft.metadata
    assert md["model"] == "openai/gpt-4o-mini" and md["tokens_in"] == 11 and md["tokens_out"] == 7
    assert md["cost_usd"] > 0 and md["latency_ms"] >= 0 and md["response"] == "echo: Write about agents"
    assert md["messages"][0] == {"role": "system", "content": "Be brief"}
    assert md["llm_calls"]["draft"]["tokens_input"] == 11
    [(call_id, inner)] = summary.metadata["llm_calls"].items()
    assert call_id == "llm_1" and inner["resolved_model"] == "openai/gpt-4o-mini" and inner["total_tokens"] == 18
    client = KitaruClient()
    assert client.artifacts.get(handle.exec_id, "llm_1_response").load() == "echo: Summarize: echo: Write about agents"
    assert fake.requests[0].headers["authorization"] == "Bearer sk-env"
    assert len(fake.requests) == 2


def test_replay_does_not_call_the_model_again_for_recorded_calls(fake: FakeLLMServer) -> None:
    first = writer.run("x")
    first.wait()
    fake.requests.clear()
    again = writer.replay(first.exec_id, from_="summarize")
    assert again.wait() == "echo: Summarize: echo: Write about x"
    assert [r.body["messages"][-1]["content"] for r in fake.requests] == ["Summarize: echo: Write about x"]


def test_alias_with_secret_and_default_model(fake: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
                                            backend: str) -> None:
    kitaru.create_secret("openai-team", OPENAI_API_KEY="sk-from-secret")
    register_model_alias("fast", model="openai/gpt-4o-mini", secret="openai-team")

    @kitaru.flow
    def ask() -> str:
        return kitaru.llm("hello", model="fast")  # a runtime may read the alias's secret, on every backend

    assert ask.run().wait() == "echo: hello"
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-from-secret"
    from kitaru.config._aliases import select_model

    if backend == "embedded":
        chosen = resolve_model_selection("fast")
        assert (chosen.resolved_model, chosen.alias, chosen.secret) == ("openai/gpt-4o-mini", "fast", "openai-team")
        assert select_model("fast")["api_key"] == "sk-from-secret"  # outside a flow: the local store's secret
    else:  # a server never hands secret values to a user's process: outside a flow only the environment's key
        assert select_model("fast")["credential_source"] == "env:OPENAI_API_KEY"
        monkeypatch.delenv("OPENAI_API_KEY")
        with pytest.raises(kitaru.KitaruContextError, match="only a flow's runtime can read them"):
            select_model("fast")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.llm("hello", model="fast")  # outside a flow, as in Kitaru 0.4
    monkeypatch.setenv("KITARU_DEFAULT_MODEL", "openai/gpt-4.1")

    @kitaru.flow
    def by_default() -> str:
        return kitaru.llm("default please")

    assert by_default.run().wait() == "echo: default please"
    assert fake.requests[-1].body["model"] == "gpt-4.1"


def test_mock_response_needs_no_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "mocked")
    monkeypatch.setenv("KITARU_DEFAULT_MODEL", "openai/gpt-4o-mini")

    @kitaru.flow
    def mocked() -> str:
        return kitaru.llm("anything")

    handle = mocked.run()
    assert handle.wait() == "mocked"
    assert KitaruClient().executions.get(handle.exec_id).checkpoints[0].metadata["provider"] == "mock"


def test_unknown_alias_or_prefix_is_a_usage_error() -> None:
    with pytest.raises(kitaru.KitaruUsageError):
        resolve_model_selection("nonsense/model")
    with pytest.raises(kitaru.KitaruUsageError):
        register_model_alias("bad", model="no-prefix")
