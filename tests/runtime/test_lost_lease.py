"""A runner whose lease was taken over stops cleanly: its late report is refused and it records nothing
more (no traceback, no overwritten journal), on the embedded store and on servers (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT, wait_for

FLOW = '''
import os, pathlib, time
from kitaru import checkpoint, flow

@checkpoint
def step() -> str:
    here = pathlib.Path(os.environ["SYNC_DIR"])
    (here / "inside").write_text("1")
    deadline = time.monotonic() + 30
    while not (here / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if os.environ["REPORT"] == "fail":
        raise RuntimeError("late failure")
    return "late output"

@flow
def stolen() -> str:
    return step()

if __name__ == "__main__":
    h = stolen.run()
    print("EXEC", h.exec_id, flush=True)
'''


def _steal(database_url: str | None, home: Path) -> None:
    """What a takeover does to the lease: another owner holds it now (written straight into the database)."""
    sql = "UPDATE executions SET lease_owner = 'thief', lease_expires_at = %s WHERE status = 'running'"
    until = time.time() + 600
    if database_url is None or database_url.startswith("sqlite"):
        path = home / "kitaru.db" if database_url is None else Path(database_url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as conn:
            conn.execute(sql.replace("%s", "?"), (until,))
        return
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql, (until,))


@pytest.mark.parametrize("report", ["complete", "fail"])
@pytest.mark.parametrize("kind", ["embedded", "sqlite", "postgresql"])
def test_a_runner_that_lost_its_lease_stops_without_recording(kind: str, report: str, tmp_path: Path,
                                                              kitaru_home: Path) -> None:
    script = tmp_path / "stolen_flow.py"
    script.write_text(FLOW)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYNC_DIR": str(tmp_path), "REPORT": report}
    cleanup, url = None, None
    if kind != "embedded":
        from tests.server.support import start_server

        server, cleanup = start_server(kind, tmp_path / "server")
        url = server.database_url
        env.update(KITARU_SERVER_URL=server.url, KITARU_API_KEY=server.admin_key)
    try:
        proc = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        wait_for(lambda: (tmp_path / "inside").exists() or proc.poll() is not None, timeout=60)
        _steal(url, kitaru_home)
        (tmp_path / "go").write_text("1")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "Traceback" not in err, err
        exec_id = out.split()[1]
        from kitaru.client import KitaruClient

        if kind != "embedded":
            os.environ.update(KITARU_SERVER_URL=env["KITARU_SERVER_URL"], KITARU_API_KEY=env["KITARU_API_KEY"])
        try:
            ex = KitaruClient().executions.get(exec_id)
            assert ex.status == "running"  # the thief's turn, untouched
            assert [c.status for c in ex.checkpoints] in ([], ["running"])  # no late completion or failure
        finally:
            os.environ.pop("KITARU_SERVER_URL", None)
            os.environ.pop("KITARU_API_KEY", None)
    finally:
        if cleanup is not None:
            cleanup()  # type: ignore[operator]
