"""The SDK behaviours of issue 12 that cross the client/server boundary, also against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru
from kitaru.client import ExecutionStatus, KitaruClient
from tests.compat.test_sdk import _until, approve, llm_flow
from tests.support import on_backend


@pytest.fixture(autouse=True, params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, kitaru_home: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with on_backend(request.param, tmp_path, monkeypatch):
        yield request.param


def test_input_then_resume_and_wait_without_schema(backend: str) -> None:
    client = KitaruClient()
    handle = approve.run()
    assert handle.status is ExecutionStatus.WAITING
    client.executions.input(handle.exec_id, wait="plain", value="go")
    client.executions.resume(handle.exec_id)
    _until(lambda: handle.status == "waiting" and client.executions.pending_waits(handle.exec_id))
    client.executions.input(handle.exec_id, wait="typed", value=False)
    client.executions.resume(handle.exec_id)
    assert handle.wait(timeout=60) == {"plain": None, "typed": False}
    assert handle.status.is_finished


def test_llm_calls_artifacts_and_log_metadata(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "ok")
    handle = llm_flow.run()
    assert handle.wait(timeout=60) == "okokokok"
    client = KitaruClient()
    ex = client.executions.get(handle.exec_id)
    by_id = {c.invocation_id: c for c in ex.checkpoints}
    assert by_id["llm_2"].metadata["llm_calls"]["llm_2"]["resolved_model"] == "openai/gpt-4o-mini"
    assert list(by_id["two_calls"].metadata["llm_calls"]) == ["llm_1", "the_summary"]
    assert client.artifacts.get(handle.exec_id, "the_summary_prompt").load()[-1]["content"] == "second"
    assert ex.metadata["stage"] == "drafted"
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.llm("outside")
