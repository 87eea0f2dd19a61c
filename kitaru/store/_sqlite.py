"""The embedded state store's connection layer: stdlib sqlite3, no SQLAlchemy on the hot path.

`import sqlalchemy` alone costs more here than the whole first-run budget, so the embedded
store talks DB-API directly and bootstraps a fresh file from DDL generated from
`schema.py`; existing files at an older revision are upgraded through Alembic.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruBackendError
from kitaru.store._rows import Buffered
from kitaru.store.migrations import HEAD_REVISION

_DDL_PATH = Path(__file__).with_name("_ddl_sqlite.sql")
_BUSY_TIMEOUT_MS = 30_000


class SQLiteDatabase:
    """A SQLite file shared by threads (one connection each) and processes (WAL + locks)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._ensure_schema()

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of this database (for migrations and tooling)."""
        return f"sqlite:///{self.path}"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): commit on success, roll back on error."""
        conn = self._connection()
        with self._lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise KitaruBackendError(f"state store {self.path} is locked or unreadable: {exc}") from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def execute_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Buffered:
        """Run one write statement as its own (implicit) transaction: the cheapest durable write."""
        with self._lock:
            cur = self._connection().execute(sql, params or {})
            return Buffered(cur.fetchall(), cur.rowcount)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[sqlite3.Row]:
        """Run a read query outside any explicit transaction and return all rows."""
        return self._connection().execute(sql, params or {}).fetchall()

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _ensure_schema(self) -> None:
        conn = self._connection()
        try:
            row = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()
            if row is None:
                self._bootstrap(conn)
                return
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise KitaruBackendError(
                f"{self.path} is not a Kitaru state store ({exc}); move it away or set KITARU_HOME"
            ) from exc
        if version is None or version[0] != HEAD_REVISION:
            from kitaru.store.migrations import upgrade

            upgrade(self.url)

    def _bootstrap(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()
            if exists is None:  # another process may have bootstrapped while we waited
                for statement in _DDL_PATH.read_text().split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
                conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD_REVISION,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
