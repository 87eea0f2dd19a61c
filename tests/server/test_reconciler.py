"""The server's reconciler loop records lost runners by itself (no client has to read or act), through
the database, on the replica that holds the reconciler lease."""

from __future__ import annotations

import time
from pathlib import Path

from kitaru.store import StateService
from kitaru.store._sqlite import SQLiteDatabase
from kitaru.testing import LocalServer


def test_server_records_a_lost_runner_without_any_client(tmp_path: Path) -> None:
    db_path = tmp_path / "server.db"
    with LocalServer(f"sqlite:///{db_path}", tmp_path / "home", env={"KITARU_SERVER_RECONCILE_INTERVAL": "0.2"}):
        state = StateService(SQLiteDatabase(db_path))  # the same database, as another replica would see it
        try:
            state.create_execution({"id": "lost1", "flow_name": "f", "flow_source": {"module": "m", "qualname": "f"},
                                    "inputs": {"sha256": "0" * 64, "size": 2, "serializer": "json"}},
                                   owner="dead-runner", lease_ttl=0.2)
            deadline = time.monotonic() + 30
            while True:
                stored = state.db.query("SELECT status, failure FROM executions WHERE id = 'lost1'")[0]
                if stored["status"] == "failed":
                    break
                assert time.monotonic() < deadline, "the server's reconciler never recorded the lost runner"
                time.sleep(0.1)
            assert "runner lost" in stored["failure"]
            leader = state.get_setting("lease:reconciler")
            assert leader["holder"].startswith("server-") and leader["expires_at"] > time.time() - 5
        finally:
            state.db.close()
