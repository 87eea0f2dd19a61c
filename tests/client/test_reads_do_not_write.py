"""Getting and listing executions starts no runner and writes nothing, even for a lost execution that asked
for automatic recovery (recovery happens where a process acts: run, wait, a runner's heartbeat)."""

from __future__ import annotations

import time
from pathlib import Path

from kitaru.client import KitaruClient
from kitaru.store import current_state


def test_get_and_list_report_a_lost_runner_without_recovering_it(kitaru_home: Path) -> None:
    state = current_state()
    state.create_execution({"id": "lost-exec", "flow_name": "f", "flow_source": {"module": "m", "qualname": "f"},
                            "inputs": {"sha256": "0" * 64, "size": 2, "serializer": "json"},
                            "config": {"auto_recover": True}}, owner="dead-runner", lease_ttl=0.1)
    client = KitaruClient()
    deadline = time.monotonic() + 10
    while client.executions.get("lost-exec").status != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    execution = client.executions.get("lost-exec")
    assert execution.failure.reason == "runner lost" and execution.runs == 1
    assert [e.exec_id for e in client.executions.list(status="failed")] == ["lost-exec"]
    assert client.executions.list(status="running") == []
    stored = state.db.query("SELECT status, runs, failure FROM executions WHERE id = 'lost-exec'")[0]  # type: ignore[attr-defined]
    assert (stored["status"], stored["runs"], stored["failure"]) == ("running", 1, None)
    assert not any((kitaru_home / "jobs").glob("*")), "a read dispatched a runner"
