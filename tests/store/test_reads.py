"""Reads never write: an expired local lease reads as failed ("runner lost") while the row is untouched;
the reconciler's leader lease lets exactly one server replica hold it. Both backends."""

from __future__ import annotations

import time

import pytest

from kitaru.store import StateService


@pytest.fixture
def state(service: StateService) -> StateService:
    """These tests read the database behind the service: the SQL services only (not the HTTP client)."""
    return service


def _new(state: StateService, exec_id: str, ttl: float, **extra: object) -> None:
    state.create_execution({"id": exec_id, "flow_name": "f", "flow_source": {"module": "m", "qualname": "f"},
                            "inputs": {"sha256": "0" * 64, "size": 2, "serializer": "json"}, **extra},
                           owner="o1", lease_ttl=ttl)


def _stored_status(state: StateService, exec_id: str) -> str:
    return str(state.db.query("SELECT status FROM executions WHERE id = :id", {"id": exec_id})[0]["status"])


def test_an_expired_local_lease_reads_as_failed_and_nothing_is_written(state: StateService) -> None:
    _new(state, "lost", ttl=0.05, config={"auto_recover": True})
    _new(state, "alive", ttl=60)
    _new(state, "remote", ttl=0.05)
    state.record_dispatch("remote", orchestrator="kubernetes", job_id="job-1")  # the reconciler asks its backend first
    deadline = time.monotonic() + 10
    while state.get_execution("lost")["status"] != "failed":  # type: ignore[index]
        assert time.monotonic() < deadline, "the expired lease never read as failed"
        time.sleep(0.02)
    row = state.get_execution("lost")
    assert row["failure"]["reason"] == "runner lost" and row["failure"]["origin"] == "runtime"  # type: ignore[index]
    assert row["lease_owner"] is None  # type: ignore[index]
    assert {r["id"] for r in state.list_executions(status="failed")} == {"lost"}
    assert {r["id"] for r in state.list_executions(status="running")} == {"alive", "remote"}
    assert {r["id"]: r["status"] for r in state.list_executions()} == {"lost": "failed", "alive": "running",
                                                                        "remote": "running"}
    assert _stored_status(state, "lost") == "running"  # reads wrote nothing
    lost = state.expire_lost_runners()  # the reconciler records it
    assert [r["id"] for r in lost if r["id"] == "lost"] == ["lost"] and _stored_status(state, "lost") == "failed"
    state.claim_execution("lost", owner="o2", lease_ttl=60, statuses=("failed",))  # retry takes it at once
    assert state.get_execution("lost")["status"] == "running"  # type: ignore[index]


def test_the_leader_lease_has_one_holder_at_a_time(state: StateService) -> None:
    assert state.hold_lease("reconciler", holder="a", ttl=30)
    assert not state.hold_lease("reconciler", holder="b", ttl=30)
    assert state.hold_lease("reconciler", holder="a", ttl=0.2)  # renewed by its holder (for a short while)
    deadline = time.monotonic() + 10
    while not state.hold_lease("reconciler", holder="b", ttl=30):  # free once it expires
        assert time.monotonic() < deadline, "the expired leader lease was never taken over"
        time.sleep(0.05)
    assert not state.hold_lease("reconciler", holder="a", ttl=30)
    assert state.hold_lease("other-task", holder="a", ttl=30)  # leases are per name
