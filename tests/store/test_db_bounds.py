"""Database calls are bounded: PostgreSQL cancels a statement past KITARU_DB_STATEMENT_TIMEOUT, SQLite gives up
on a held lock after KITARU_SQLITE_BUSY_TIMEOUT (the server never waits on its database without a limit)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from kitaru.errors import KitaruBackendError


def test_postgresql_statements_are_cancelled_past_the_bound(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.store._pg import PsycopgDatabase

    monkeypatch.setenv("KITARU_DB_STATEMENT_TIMEOUT", "0.5")
    db = PsycopgDatabase(pg_url)
    try:
        started = time.monotonic()
        with pytest.raises(Exception, match="statement timeout"):
            db.query("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 4
        assert db.query("SELECT 1 AS one")[0]["one"] == 1  # the connection serves the next request
    finally:
        db.close()


def test_postgresql_sqlalchemy_engine_is_bounded_too(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.store._databases import open_database

    monkeypatch.setenv("KITARU_SERVER_SQLALCHEMY", "1")
    monkeypatch.setenv("KITARU_DB_STATEMENT_TIMEOUT", "0.5")
    db = open_database(pg_url)
    try:
        with pytest.raises(Exception, match="statement timeout"):
            db.query("SELECT pg_sleep(5)")
    finally:
        db.close()


def test_sqlite_write_gives_up_on_a_held_lock_after_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.store._sqlite import SQLiteDatabase

    monkeypatch.setenv("KITARU_SQLITE_BUSY_TIMEOUT", "0.3")
    db = SQLiteDatabase(tmp_path / "kitaru.db")
    holder = sqlite3.connect(tmp_path / "kitaru.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        started = time.monotonic()
        with pytest.raises(KitaruBackendError, match="locked"), db.transaction():
            pass
        assert time.monotonic() - started < 3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        db.close()
