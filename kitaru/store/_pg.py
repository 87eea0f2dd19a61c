"""The PostgreSQL driver on plain psycopg 3 (the server's hot path): one connection per worker thread, no pre-ping.

Same `Database` interface and SQL as the embedded store (`:name` parameters are rewritten once per
statement). Reads run in autocommit (one round trip); writes in explicit transactions. A broken
connection is dropped and surfaces as KitaruBackendError (HTTP 503), which clients retry.
Schema migrations still go through Alembic (SQLAlchemy) once at start.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg

from kitaru.errors import KitaruBackendError
from kitaru.store._guards import check_call, check_metadata, refused_journal_write
from kitaru.store._rows import Buffered, dumps, now
from kitaru.store._sqlalchemy import _Row
from kitaru.store.service import StateService

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _sql(statement: str) -> str:
    return _PARAM.sub(r"%(\1)s", statement.replace("%", "%%"))


def _rows(cursor: Any) -> Any:
    names = [c.name for c in cursor.description] if cursor.description else []
    return lambda values: _Row(dict(zip(names, values)))


class _Tx:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._conn.execute(_sql(sql), dict(params or {}))

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> Any:
        cur = self._conn.cursor()
        cur.executemany(_sql(sql), [dict(r) for r in rows])
        return cur


class PsycopgDatabase:
    """PostgreSQL through psycopg 3 with thread-local connections (the server's hot path)."""

    dialect = "postgresql"

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._local = threading.local()
        # opt-in trade-off: `off` skips the WAL flush wait per commit; a PostgreSQL crash (not a server or
        # runner crash) may then lose the last few hundred ms of commits, whose checkpoints re-run
        sync = os.environ.get("KITARU_SERVER_PG_SYNCHRONOUS_COMMIT")
        from kitaru.config._tunables import tunables

        bound = int(tunables().db_statement_timeout * 1000)  # a stuck statement never holds a request (or the loop)
        self._options = (f"-c statement_timeout={bound} -c lock_timeout={bound}"
                         + (f" -c synchronous_commit={sync}" if sync in ("on", "off", "local", "remote_write") else ""))
        if migrate:
            from kitaru.store._sqlalchemy import SQLAlchemyDatabase

            SQLAlchemyDatabase(url, migrate=True, pool_size=1).close()  # Alembic under an advisory lock

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            try:
                conn = psycopg.connect(self.dsn, autocommit=True, row_factory=_rows, connect_timeout=10,
                                       options=self._options)
            except psycopg.OperationalError as exc:
                raise KitaruBackendError(f"state store unreachable ({exc}); check the database URL") from exc
            self._local.conn = conn
        return conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.QueryCanceled as exc:  # the connection stays usable
            raise KitaruBackendError("a state store statement ran past its bound (statement timeout,"
                                     " KITARU_DB_STATEMENT_TIMEOUT); retry") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._local.conn = None
            raise KitaruBackendError(f"state store unreachable ({type(exc).__name__}); retry") from exc

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """One transaction; commits on success, rolls back on error."""
        conn = self._conn()
        with self._guard(), conn.transaction():
            yield _Tx(conn)

    def execute_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Buffered:
        """Run one write statement as its own transaction (autocommit)."""
        with self._guard():
            cur = self._conn().execute(_sql(sql), dict(params or {}))
            return Buffered(cur.fetchall() if cur.description else [], cur.rowcount)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run a read query (autocommit: one round trip) and return all rows."""
        with self._guard():
            return self._conn().execute(_sql(sql), dict(params or {})).fetchall()

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def state_service(self) -> PgStateService:
        """The state service for this database (its complete_call is a single statement)."""
        return PgStateService(self)


_COMPLETE_CALL = (
    "WITH c AS (INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts, input_hash,"
    " input_preview, cache_key, output, error, metadata, started_at, ended_at)"
    " SELECT id, :invocation_id, CAST(:seq AS INTEGER), :name, :type, 'completed', CAST(:attempt AS INTEGER),"
    " :input_hash, :input_preview, :cache_key, :output, NULL, :metadata, CAST(:started AS FLOAT), CAST(:t AS FLOAT)"
    " FROM executions WHERE id = :exec_id AND lease_owner = :owner AND status = 'running'"
    " ON CONFLICT (exec_id, invocation_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,"
    " output = excluded.output, error = excluded.error, metadata = excluded.metadata,"
    " started_at = excluded.started_at, ended_at = excluded.ended_at"
    " WHERE checkpoint_calls.status <> 'completed' RETURNING exec_id),"
    " a AS (INSERT INTO checkpoint_attempts (exec_id, invocation_id, attempt, status, error, started_at, ended_at)"
    " SELECT exec_id, :invocation_id, CAST(:attempt AS INTEGER), 'completed', NULL, CAST(:started AS FLOAT),"
    " CAST(:t AS FLOAT) FROM c ON CONFLICT (exec_id, invocation_id, attempt) DO UPDATE SET status = excluded.status,"
    " error = excluded.error, ended_at = excluded.ended_at)"
    " SELECT (SELECT count(*) FROM c) AS written,"
    " (SELECT count(*) FROM executions WHERE id = :exec_id AND lease_owner = :owner AND status = 'running') AS held,"
    " (SELECT attempts FROM checkpoint_calls WHERE exec_id = :exec_id AND invocation_id = :invocation_id) AS recorded"
)


class PgStateService(StateService):
    """StateService whose hottest write (`complete_call`) is one PostgreSQL statement: one round trip, one commit
    (same effects, same fencing, same checks)."""

    def complete_call(self, call: dict[str, Any], attempt: int, *, owner: str, output: dict[str, Any],
                      metadata: dict[str, Any] | None = None) -> None:
        """Commit a completed call and its attempt atomically, fenced by the lease (LeaseLost otherwise);
        a completed call is never rewritten (a retried commit is a no-op, any other is refused)."""
        check_call(call)
        check_metadata(metadata, "checkpoint metadata")
        t = now()
        params = {"input_hash": None, "input_preview": None, "cache_key": None, **call, "attempt": attempt,
                  "owner": owner, "t": t, "started": call.get("started_at") or t, "output": dumps(output),
                  "metadata": dumps(metadata or {})}
        row = self.db.execute_one(_COMPLETE_CALL, params).fetchone()
        written, held, recorded = row["written"], row["held"], row["recorded"]
        if written != 1:
            error = refused_journal_write(call["exec_id"], call["invocation_id"], attempt=attempt,
                                          lease_held=bool(held), recorded_attempts=recorded, completing=True)
            if error is not None:
                raise error


def pg_state_service(db: PsycopgDatabase) -> PgStateService:
    """The state service of a psycopg database (see `PgStateService`)."""
    return PgStateService(db)
