"""The journal cannot be rewritten: lease-fenced writes and a state machine that never moves backwards.

Runs on every backend (the `state` fixture: SQLite, PostgreSQL, the HTTP client against a server); the
server suite repeats the attacks over raw HTTP with forged and foreign tokens.
"""

from __future__ import annotations

import pytest

from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.store import LeaseLost, StateStore


def _new(state: StateStore, exec_id: str = "e1", owner: str = "o1") -> None:
    state.create_execution({"id": exec_id, "flow_name": "f", "flow_source": {}, "inputs": {}}, owner=owner,
                           lease_ttl=60)


def _call(inv: str = "a", seq: int = 0) -> dict:
    return {"exec_id": "e1", "invocation_id": inv, "seq": seq, "name": "a", "type": "checkpoint"}


def _journal(state: StateStore) -> list[tuple]:
    return [(c["invocation_id"], c["status"], c["attempts"], c["output"]) for c in state.load_journal("e1")]


def test_a_runner_without_the_lease_cannot_fail_a_call(state: StateStore) -> None:
    _new(state)
    with pytest.raises(LeaseLost, match="no longer holds the execution's lease"):
        state.fail_call(_call(), 1, owner="intruder", error={"message": "x"}, final=True)
    assert state.load_journal("e1") == [] and state.load_attempts("e1") == []


def test_a_completed_call_never_becomes_failed_or_running(state: StateStore) -> None:
    _new(state)
    state.complete_call(_call(), 1, owner="o1", output={"sha256": "1"})
    with pytest.raises(KitaruStateError, match="already completed"):
        state.fail_call(_call(), 2, owner="o1", error={"message": "late"}, final=True)
    state.complete_call(_call(), 2, owner="o1", output={"sha256": "forged"})  # no-op: the first record stands
    state.start_call(_call(), owner="o1", attempt=3)
    assert _journal(state) == [("a", "completed", 1, {"sha256": "1"})]
    assert [a["status"] for a in state.load_attempts("e1")] == ["completed"]


def test_a_retried_commit_is_a_no_op(state: StateStore) -> None:
    _new(state)
    for _ in range(3):
        state.complete_call(_call(), 1, owner="o1", output={"sha256": "1"})
    assert _journal(state) == [("a", "completed", 1, {"sha256": "1"})]


def test_the_old_runner_is_fenced_after_a_takeover(state: StateStore) -> None:
    _new(state)
    state.start_call(_call(), owner="o1", attempt=1)
    state.finish_execution("e1", owner="o1", status="failed", failure={"origin": "runtime"})
    state.claim_execution("e1", owner="o2", lease_ttl=60, statuses=("failed",))
    with pytest.raises(LeaseLost):
        state.complete_call(_call(), 1, owner="o1", output={"sha256": "stale"})
    with pytest.raises(LeaseLost):
        state.fail_call(_call(), 1, owner="o1", error={"message": "stale"}, final=True)
    with pytest.raises(LeaseLost):
        state.finish_execution("e1", owner="o1", status="completed", result={"sha256": "stale"})
    state.complete_call(_call(), 2, owner="o2", output={"sha256": "fresh"})
    assert _journal(state) == [("a", "completed", 2, {"sha256": "fresh"})]


@pytest.mark.parametrize("final", ["completed", "cancelled"])
def test_a_completed_or_cancelled_execution_cannot_be_claimed(state: StateStore, final: str) -> None:
    _new(state)
    state.finish_execution("e1", owner="o1", status=final)
    for statuses in (("waiting", "failed"), ("completed", "cancelled", "running")):
        with pytest.raises(KitaruStateError, match=f"is {final} and cannot run again"):
            state.claim_execution("e1", owner="thief", lease_ttl=60, statuses=statuses)
    row = state.get_execution("e1")
    assert (row["status"], row["lease_owner"], row["runs"]) == (final, None, 1)


def test_a_live_running_execution_cannot_be_stolen_by_asking_for_running(state: StateStore) -> None:
    _new(state)
    with pytest.raises(KitaruStateError, match="already running"):
        state.claim_execution("e1", owner="thief", lease_ttl=60, statuses=("running",))
    assert state.get_execution("e1")["lease_owner"] == "o1"


def test_a_finished_execution_cannot_be_finished_again(state: StateStore) -> None:
    _new(state)
    state.finish_execution("e1", owner="o1", status="completed", result={"sha256": "r"})
    with pytest.raises(LeaseLost):
        state.finish_execution("e1", owner="o1", status="failed", failure={"origin": "x"})
    assert state.get_execution("e1")["status"] == "completed"


@pytest.mark.parametrize("bad", ["", "a/b", "a b", "x\x1b[2J", "nul\x00", "tab\t", "x" * 256, "../etc"])
def test_names_are_validated_the_same_everywhere(state: StateStore, bad: str) -> None:
    _new(state)
    with pytest.raises(KitaruUsageError):
        state.start_call({**_call(), "invocation_id": bad}, owner="o1")
    with pytest.raises(KitaruUsageError):
        state.put_stack(bad, {"name": bad})
    with pytest.raises(KitaruUsageError):
        state.put_secret(bad, {"K": "v"})
    with pytest.raises(KitaruUsageError):
        state.create_execution({"id": bad or "e2", "flow_name": bad, "flow_source": {}, "inputs": {}}, owner="o",
                               lease_ttl=5)
    assert state.load_journal("e1") == [] and state.list_stacks() == [] and state.list_secrets() == []


def test_log_lines_are_bounded_and_nul_free(state: StateStore) -> None:
    from kitaru.store._guards import LOG_LINE_MAX

    _new(state)
    state.append_logs([{"exec_id": "e1", "invocation_id": None, "ts": 1.0, "stream": "stdout", "level": "INFO",
                        "message": "a\x00b" + "x" * (LOG_LINE_MAX * 2)}])
    [line] = state.query_logs("e1")
    assert line["message"].startswith("a\ufffdb") and len(line["message"]) == LOG_LINE_MAX


def test_oversized_metadata_is_refused_and_nothing_is_stored(state: StateStore) -> None:
    from kitaru.store._guards import METADATA_MAX

    _new(state)
    with pytest.raises(KitaruUsageError, match="at most"):
        state.set_execution_metadata("e1", {"blob": "x" * METADATA_MAX})
    with pytest.raises(KitaruUsageError, match="at most"):
        state.complete_call(_call(), 1, owner="o1", output={}, metadata={"blob": "x" * METADATA_MAX})
    assert state.get_execution("e1")["metadata"] == {} and state.load_journal("e1") == []
