"""A failing store is the backend's failure, not the user's: origin `backend`, a message about the store."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import kitaru
from kitaru.client import KitaruClient


@kitaru.checkpoint
def fine() -> str:
    return "fine"


@kitaru.checkpoint
def breaks_the_artifact_store(home: str) -> str:
    blobs = Path(home) / "artifacts" / "blobs"
    shutil.rmtree(blobs)
    blobs.write_text("a file where the store keeps its blobs: every write of a new object fails")
    return "a new output that cannot be written"


@kitaru.checkpoint
def breaks_the_state_store(home: str) -> str:
    with sqlite3.connect(Path(home) / "kitaru.db") as db:  # the journal table disappears under the runtime
        db.execute("ALTER TABLE checkpoint_calls RENAME TO checkpoint_calls_gone")
    return "an output whose record cannot be committed"


@kitaru.flow
def artifact_store_fails(home: str) -> str:
    return fine() + breaks_the_artifact_store(home)


@kitaru.flow
def state_store_fails(home: str) -> str:
    return fine() + breaks_the_state_store(home)


def _assert_backend_failure(exec_id: str, checkpoint: str, action: str) -> None:
    failure = KitaruClient().executions.get(exec_id).failure
    assert failure is not None and failure.origin == "backend", failure
    assert failure.checkpoint == checkpoint
    assert action in failure.message and "this is a storage failure" in failure.message
    assert "Fix the code" not in failure.message


def test_artifact_store_write_failure_is_the_backends(kitaru_home: Path) -> None:
    handle = artifact_store_fails.run(str(kitaru_home))
    with pytest.raises(kitaru.KitaruExecutionError) as info:
        handle.wait(timeout=30)
    assert not isinstance(info.value, kitaru.KitaruUserCodeError)
    assert info.value.failure_origin == "backend" and "Fix the code" not in str(info.value)
    _assert_backend_failure(handle.exec_id, "breaks_the_artifact_store",
                            "could not write the output of checkpoint 'breaks_the_artifact_store'")
    calls = {c.invocation_id: c.status for c in KitaruClient().executions.get(handle.exec_id).checkpoints}
    assert calls["fine"] == "completed" and calls.get("breaks_the_artifact_store") != "completed"


def test_state_store_commit_failure_is_the_backends(kitaru_home: Path) -> None:
    handle = state_store_fails.run(str(kitaru_home))
    with sqlite3.connect(kitaru_home / "kitaru.db") as db:
        db.execute("ALTER TABLE checkpoint_calls_gone RENAME TO checkpoint_calls")
    with pytest.raises(kitaru.KitaruExecutionError) as info:
        handle.wait(timeout=30)
    assert info.value.failure_origin == "backend" and not isinstance(info.value, kitaru.KitaruUserCodeError)
    _assert_backend_failure(handle.exec_id, "breaks_the_state_store",
                            "could not record the completed checkpoint 'breaks_the_state_store' in the state store")


@kitaru.checkpoint
def user_bug() -> str:
    raise ValueError("a bug in the user's code")


@kitaru.flow
def buggy() -> str:
    return user_bug()


def test_user_code_failure_is_still_the_users() -> None:
    handle = buggy.run()
    with pytest.raises(kitaru.KitaruUserCodeError, match="Fix the code"):
        handle.wait(timeout=30)
