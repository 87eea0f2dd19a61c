"""The web UI's list queries on every database: filters, keyset pages, live statuses (reads only)."""

from __future__ import annotations

import time

from kitaru.store import StateService


def _new(service: StateService, exec_id: str, **extra: object) -> None:
    service.create_execution({"id": exec_id, "flow_name": extra.pop("flow", "f"), "flow_source": {}, "inputs": {},
                              **extra}, owner="o", lease_ttl=60)


def test_pages_filter_and_follow_the_keyset(service: StateService) -> None:
    for i in range(5):
        _new(service, f"a{i}", stack="prod" if i % 2 else "default", owner_name="ann" if i < 3 else "bob")
    _new(service, "zz", flow="other")
    assert service.records_owners()
    first = service.execution_page(limit=2)
    assert [r["id"] for r in first] == ["zz", "a4"] and "config" not in first[0]  # list columns only
    rest = service.execution_page(before=(first[-1]["created_at"], first[-1]["id"]), limit=10)
    assert [r["id"] for r in rest] == ["a3", "a2", "a1", "a0"]
    assert {r["id"] for r in service.execution_page(stack="prod")} == {"a1", "a3"}
    assert {r["id"] for r in service.execution_page(owner="bob")} == {"a3", "a4"}
    assert [r["id"] for r in service.execution_page(flow="other")] == ["zz"]
    assert {r["id"] for r in service.execution_page(id_prefix="a")} == {f"a{i}" for i in range(5)}
    assert [r["id"] for r in service.execution_page(id_prefix="%z")] == ["zz"]  # '%' is dropped, not a wildcard
    assert service.execution_page(id_prefix="_z") == [] and service.execution_page(id_prefix="a_") == []  # nor '_'
    assert service.execution_page(created_after=time.time() + 60) == []
    service.finish_execution("a0", owner="o", status="completed")
    statuses = {r["id"]: r["status"] for r in service.execution_statuses(["a0", "a1", "missing"])}
    assert statuses == {"a0": "completed", "a1": "running"} and service.execution_statuses([]) == []
