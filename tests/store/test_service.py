"""State store behaviour, identical on every backend (see conftest.py: SQLite, PostgreSQL twice, a server)."""

from __future__ import annotations

import threading
import time

import pytest

from kitaru.errors import KitaruStateError
from kitaru.store import CancelRequested, LeaseLost, StateStore


def _new(state: StateStore, exec_id: str = "e1", owner: str = "o1", ttl: float = 5.0, seed=None, **extra) -> None:
    state.create_execution({"id": exec_id, "flow_name": "f", "flow_source": {"module": "m", "qualname": "f"},
                            "inputs": {"sha256": "0" * 64, "size": 2, "serializer": "json"}, **extra},
                           owner=owner, lease_ttl=ttl, seed=seed)


def _call(seq: int, inv: str) -> dict:
    return {"exec_id": "e1", "invocation_id": inv, "seq": seq, "name": inv.split("_")[0], "type": "checkpoint",
            "input_hash": "h", "input_preview": "p", "cache_key": None}


def test_journal_records_attempts_and_completion(state: StateStore) -> None:
    _new(state)
    call = _call(0, "a")
    state.fail_call(call, 1, owner="o1", error={"message": "x"}, final=False)
    assert state.load_journal("e1")[0]["status"] == "running"
    assert state.start_call(call, owner="o1", attempt=2) == 2
    state.complete_call(call, 2, owner="o1", output={"sha256": "1" * 64}, metadata={"k": 1})
    [rec] = state.load_journal("e1")
    assert (rec["status"], rec["attempts"], rec["output"], rec["metadata"]) == ("completed", 2, {"sha256": "1" * 64}, {"k": 1})
    assert [a["status"] for a in state.load_attempts("e1")] == ["failed", "completed"]
    state.start_call(call, owner="o1", attempt=3)  # a late 'running' mark never reopens a completed call
    assert state.load_journal("e1")[0]["status"] == "completed"


def test_wait_style_start_increments_attempts(state: StateStore) -> None:
    _new(state)
    assert state.start_call(_call(0, "w"), owner="o1") == 1
    assert state.start_call(_call(0, "w"), owner="o1") == 2


def test_writes_from_a_runner_that_lost_its_lease_are_rejected(state: StateStore) -> None:
    _new(state)
    with pytest.raises(LeaseLost):
        state.complete_call(_call(0, "a"), 1, owner="intruder", output={})
    assert state.load_journal("e1") == []
    with pytest.raises(LeaseLost):
        state.start_call(_call(1, "b"), owner="intruder")
    with pytest.raises(LeaseLost):
        state.check_boundary("e1", owner="intruder")
    assert not state.renew_lease("e1", owner="intruder", lease_ttl=5)


def test_cancel_is_seen_at_the_next_checkpoint_boundary(state: StateStore) -> None:
    _new(state)
    state.check_boundary("e1", owner="o1")
    state.request_cancel("e1")
    with pytest.raises(CancelRequested):
        state.check_boundary("e1", owner="o1")
    with pytest.raises(CancelRequested):
        state.start_call(_call(0, "a"), owner="o1")


def test_expired_lease_marks_runner_lost_and_exactly_one_claimer_wins(state: StateStore) -> None:
    _new(state, ttl=0.05)
    time.sleep(0.1)
    [lost] = state.expire_lost_runners()
    assert lost["status"] == "failed" and lost["failure"]["reason"] == "runner lost"
    winners, errors = [], []

    def claim(owner: str) -> None:
        try:
            state.claim_execution("e1", owner=owner, lease_ttl=5, statuses=("failed",))
            winners.append(owner)
        except KitaruStateError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=claim, args=(f"o{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(winners) == 1 and len(errors) == 5
    assert all("already running" in e for e in errors)
    assert state.get_execution("e1")["runs"] == 2


def test_wait_resolution_is_first_writer_wins(state: StateStore) -> None:
    _new(state)
    w = state.open_wait({"exec_id": "e1", "invocation_id": "wait", "name": "wait", "question": "ok?",
                         "schema": {"type": "boolean"}, "metadata": {}})
    assert w["status"] == "pending" and w["schema"] == {"type": "boolean"}
    assert state.open_wait({**w, "question": "changed"})["question"] == "ok?"  # idempotent
    assert state.resolve_wait("e1", "wait", status="answered", answer=True)
    assert not state.resolve_wait("e1", "wait", status="answered", answer=False)
    assert state.get_wait("e1", "wait")["answer"] is True
    assert state.list_waits("e1") == []


def test_logs_append_in_batches_and_page_by_id(state: StateStore) -> None:
    _new(state)
    state.append_logs([{"exec_id": "e1", "invocation_id": None if i % 2 else "a", "ts": float(i), "stream": "stdout",
                        "level": "INFO", "message": f"line {i}"} for i in range(25)])
    first = state.query_logs("e1", limit=10)
    rest = state.query_logs("e1", after_id=first[-1]["id"], limit=100)
    assert [r["message"] for r in first + rest] == [f"line {i}" for i in range(25)]
    assert len(state.query_logs("e1", invocation_id="a")) == 13


def test_list_executions_filters_and_pages(state: StateStore) -> None:
    for i in range(7):
        _new(state, exec_id=f"x{i}", owner=f"o{i}")
        state.finish_execution(f"x{i}", owner=f"o{i}", status="completed" if i % 2 else "failed")
    page1 = state.list_executions(limit=3)
    page2 = state.list_executions(limit=3, offset=3)
    assert [r["id"] for r in page1 + page2] == [f"x{i}" for i in range(6, 0, -1)]
    assert {r["status"] for r in state.list_executions(status="completed")} == {"completed"}
    keyset = state.list_executions(limit=3, before=(page1[-1]["created_at"], page1[-1]["id"]))
    assert [r["id"] for r in keyset] == [r["id"] for r in page2]
    assert state.find_executions("x") and state.find_executions("nope") == []


def test_settings_secrets_aliases_stacks_round_trip(state: StateStore) -> None:
    state.put_setting("active_stack", "prod")
    assert state.get_setting("active_stack") == "prod"
    state.put_secret("openai", {"OPENAI_API_KEY": "sk-1"})
    state.put_model_alias("fast", "openai/gpt-4o-mini", "openai")
    assert state.list_model_aliases()[0]["model"] == "openai/gpt-4o-mini"
    _new(state)  # values are read by an execution's runtime (on a server only, and only secrets it references)
    assert state.for_execution("e1").get_secret("openai") == {"OPENAI_API_KEY": "sk-1"}
    assert state.list_secrets()[0]["keys"] == ["OPENAI_API_KEY"]
    assert state.delete_secret("openai") and not state.delete_secret("openai")
    state.put_stack("s", {"orchestrator": {"flavor": "local"}})
    assert state.get_stack("s")["spec"] == {"orchestrator": {"flavor": "local"}}
    assert state.delete_stack("s") and state.list_stacks() == []


def test_a_replay_is_created_with_its_seeded_journal_or_not_at_all(state: StateStore) -> None:
    done = {**_call(0, "a"), "output": {"sha256": "2" * 64}, "reused_from": "src", "metadata": {}}
    _new(state, seed={"calls": [done], "waits": [{"invocation_id": "w", "name": "w", "question": "q", "schema": None,
                                                  "metadata": {}, "status": "answered", "answer": True}]})
    assert [r["status"] for r in state.load_journal("e1")] == ["completed"]
    assert state.get_wait("e1", "w")["answer"] is True
    broken = {"calls": [done, {**done, "seq": 1}]}  # the same invocation id twice violates the journal's key
    with pytest.raises(Exception):
        _new(state, exec_id="e2", seed=broken)
    assert state.get_execution("e2") is None and state.load_journal("e2") == []
