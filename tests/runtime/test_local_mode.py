"""Local mode keeps the user's data safe: a damaged `kitaru.db` is reported (never re-created), `.kitaru/`
always gets its `.gitignore`, and a corrupted output blob fails the execution as a backend problem."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from kitaru.errors import KitaruBackendError, KitaruExecutionError
from tests.support import on_backend

FLOWS = '''
from kitaru import checkpoint, flow

@checkpoint
def make(n: int) -> list:
    return list(range(n))

@checkpoint
def total(xs: list) -> int:
    return sum(xs)

@flow
def summed(n: int = 3) -> int:
    return total(make(n))
'''


@pytest.mark.parametrize(("damage", "problem"), [
    (b"", "empty (zero bytes)"),
    (b"this is not a database at all" * 200, "unreadable"),
    (None, "no schema version"),  # a valid SQLite file of another program
])
def test_a_damaged_state_store_is_reported_and_never_recreated(flow_module: Any, kitaru_home: Path,
                                                               damage: bytes | None, problem: str) -> None:
    kitaru_home.mkdir(parents=True)
    db = kitaru_home / "kitaru.db"
    if damage is None:
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
            conn.execute("INSERT INTO notes VALUES ('mine')")
        conn.close()
    else:
        db.write_bytes(damage)
    before = db.read_bytes()
    flows = flow_module(FLOWS, "damaged_store_flows")
    with pytest.raises(KitaruBackendError) as info:
        flows.summed.run()
    message = str(info.value)
    assert str(db) in message and problem in message and "kitaru clean" in message and f"mv {db}" in message
    assert db.read_bytes() == before


def test_concurrent_first_opens_create_one_store(tmp_path: Path) -> None:
    from kitaru.store._sqlite import SQLiteDatabase

    path, errors = tmp_path / "fresh" / "kitaru.db", []

    def open_it() -> None:
        try:
            SQLiteDatabase(path).query("SELECT count(*) FROM executions")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(("-wal", "-shm"))) \
        == ["kitaru.db"]


def test_a_hand_made_kitaru_dir_gets_its_gitignore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   flow_module: Any) -> None:
    project = tmp_path / "project"
    (project / ".kitaru").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    monkeypatch.delenv("KITARU_HOME")
    monkeypatch.chdir(project)
    flows = flow_module(FLOWS, "gitignore_flows")
    assert flows.summed.run().wait(timeout=30) == 3
    ignore = project / ".kitaru" / ".gitignore"
    assert ignore.read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize("kind", ["embedded", "sqlite", "postgresql"])
def test_a_corrupted_output_blob_fails_as_a_backend_problem(kind: str, tmp_path: Path, kitaru_home: Path,
                                                            monkeypatch: pytest.MonkeyPatch, flow_module: Any) -> None:
    from kitaru.client import KitaruClient

    with on_backend(kind, tmp_path, monkeypatch):
        flows = flow_module(FLOWS, f"blob_flows_{kind}")
        first = flows.summed.run(n=4)
        assert first.wait(timeout=30) == 6
        client = KitaruClient()
        make = next(c for c in client.executions.get(first.exec_id).checkpoints if c.invocation_id == "make")
        digest = _journal_output(first.exec_id, "make")["sha256"]
        blob = kitaru_home / "artifacts" / "blobs" / "sha256" / digest[:2] / digest
        blob.write_bytes(b"[9, 9, 9, 9]")  # same size class, different content: the hash check must catch it
        assert make.status == "completed"
        replayed = flows.summed.replay(first.exec_id, from_="total")
        with pytest.raises(KitaruExecutionError) as info:
            replayed.wait(timeout=30)
        assert info.value.failure_origin == "backend" and "corrupted" in str(info.value)
        assert type(info.value) is KitaruExecutionError  # not KitaruUserCodeError


def _journal_output(exec_id: str, invocation_id: str) -> dict[str, Any]:
    from kitaru.store import current_state

    return next(c["output"] for c in current_state().load_journal(exec_id) if c["invocation_id"] == invocation_id)
