"""The embedded state store's connection layer: stdlib sqlite3, no SQLAlchemy on the hot path.

`import sqlalchemy` alone costs more here than the whole first-run budget, so the embedded
store talks DB-API directly and bootstraps a fresh file from DDL generated from
`schema.py`; existing files at an older revision are upgraded through Alembic.
"""

from __future__ import annotations

import os
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


class SQLiteDatabase:
    """A SQLite file shared by threads (one connection each) and processes (WAL + locks)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create(path)  # complete before it appears: an empty or schema-less file is never ours
        self._ensure_schema()

    def corrupt(self, problem: str) -> KitaruBackendError:
        """The error for a state store file that cannot be used: which file, and how to recover."""
        return corrupt_store(self.path, problem)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of this database (for migrations and tooling)."""
        return f"sqlite:///{self.path}"

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=_busy_timeout(), check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(_busy_timeout() * 1000)}")
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
            except sqlite3.DatabaseError as exc:
                raise self.corrupt(str(exc)) from exc
            try:
                yield conn
            except sqlite3.DatabaseError as exc:
                conn.execute("ROLLBACK")
                if _is_corruption(exc):
                    raise self.corrupt(str(exc)) from exc
                raise
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def execute_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Buffered:
        """Run one write statement as its own (implicit) transaction: the cheapest durable write."""
        with self._lock:
            try:
                cur = self._connection().execute(sql, params or {})
                return Buffered(cur.fetchall(), cur.rowcount)
            except sqlite3.DatabaseError as exc:
                if _is_corruption(exc):
                    raise self.corrupt(str(exc)) from exc
                raise

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[sqlite3.Row]:
        """Run a read query outside any explicit transaction and return all rows."""
        try:
            return self._connection().execute(sql, params or {}).fetchall()
        except sqlite3.DatabaseError as exc:
            if _is_corruption(exc):
                raise self.corrupt(str(exc)) from exc
            raise

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _ensure_schema(self) -> None:
        try:
            if self.path.stat().st_size == 0:
                raise self.corrupt("empty (zero bytes)")
        except FileNotFoundError:
            raise self.corrupt("missing (it was deleted while opening)") from None
        probe = sqlite3.connect(self.path, timeout=_busy_timeout())  # no pragmas: reading changes nothing
        try:
            row = probe.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'"
            ).fetchone()
            if row is None:
                raise self.corrupt("not a Kitaru state store (it has no schema version)")
            version = probe.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise self.corrupt(f"unreadable ({exc})") from exc
        finally:
            probe.close()
        if version is None or version[0] != HEAD_REVISION:
            from kitaru.store.migrations import upgrade

            upgrade(self.url)



def corrupt_store(path: Path, problem: str) -> KitaruBackendError:
    """A state store file that cannot be used: name it and say how to recover (it is never re-created)."""
    return KitaruBackendError(
        f"the Kitaru state store {path} is {problem}; it was left as it is (not re-created, so nothing is lost)."
        f" Move it aside to start with an empty store (`mv {path} {path}.broken`), or delete the local state"
        " with `kitaru clean project`"
    )


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Whether a database error means the file is damaged (not a constraint or a programming error)."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return False
    text = str(exc).lower()
    return type(exc) is sqlite3.DatabaseError or any(
        w in text for w in ("malformed", "not a database", "corrupt", "no such table", "disk i/o"))


def _create(path: Path) -> None:
    """Create a new state store at `path` atomically: bootstrapped in a private file, then linked into place.

    Whoever links first wins; a concurrent creator's copy is discarded. So a file at `path` always
    holds a schema, and an empty or schema-less file there is damage, never a store being created.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.new")
    os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))  # owner-only from its first byte
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        for statement in _DDL_PATH.read_text().split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                     "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
        conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (HEAD_REVISION,))
        conn.execute("COMMIT")
        conn.close()  # checkpoints the WAL into the file and removes it
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:  # a filesystem without hard links
            if not path.exists():
                os.replace(tmp, path)
    finally:
        conn.close()
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _busy_timeout() -> float:
    """Seconds a write waits for the database lock before failing (`KITARU_SQLITE_BUSY_TIMEOUT`): bounded."""
    from kitaru.config._tunables import tunables

    return tunables().sqlite_busy_timeout
