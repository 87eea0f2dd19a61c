"""The state store on any SQLAlchemy database (PostgreSQL for servers; SQLite for tests).

Runs the same SQL as the embedded store through `text()`; schema managed by Alembic.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from kitaru.errors import KitaruBackendError
from kitaru.store._rows import Buffered


class _Row(dict[str, Any]):
    """A row addressable by column name and by position, like sqlite3.Row."""

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        super().__init__(mapping)
        self._values = list(mapping.values())

    def __getitem__(self, key: Any) -> Any:
        return self._values[key] if isinstance(key, int) else super().__getitem__(key)


class _Result:
    def __init__(self, result: Any) -> None:
        self._result = result
        self.rowcount = result.rowcount

    def fetchone(self) -> _Row | None:
        row = self._result.mappings().fetchone() if self._result.returns_rows else None
        return _Row(row) if row is not None else None

    def fetchall(self) -> list[_Row]:
        return [_Row(r) for r in self._result.mappings().fetchall()] if self._result.returns_rows else []


class _Tx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> _Result:
        from sqlalchemy import text

        return _Result(self._conn.execute(text(sql), dict(params or {})))

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> _Result:
        from sqlalchemy import text

        return _Result(self._conn.execute(text(sql), [dict(r) for r in rows]))


class SQLAlchemyDatabase:
    """A pooled SQLAlchemy engine exposing the small interface the state service uses."""

    def __init__(self, url: str, *, migrate: bool = True, pool_size: int = 10,
                 statement_timeout: float | None = None) -> None:
        from sqlalchemy import create_engine

        self.url = url
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if not url.startswith("sqlite"):
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        self.engine = create_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name
        if migrate:
            self.migrate()  # before the bound below: a migration may take longer than a request
        if statement_timeout and self.dialect == "postgresql":
            self._bound_statements(statement_timeout)

    def _bound_statements(self, seconds: float) -> None:
        """PostgreSQL cancels any statement (or lock wait) of this engine running longer than `seconds`."""
        from sqlalchemy import event

        ms = int(seconds * 1000)

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {ms}")
                cur.execute(f"SET lock_timeout = {ms}")
            dbapi_conn.commit()

        event.listen(self.engine, "connect", on_connect)
        self.engine.dispose()  # connections opened by the migration are replaced by bounded ones

    def migrate(self) -> None:
        """Bring the schema to the newest revision (serialised across processes on PostgreSQL)."""
        from alembic import command

        from kitaru.store.migrations import alembic_config

        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                from sqlalchemy import text

                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))  # concurrent starts migrate one by one
            command.upgrade(alembic_config(conn), "head")

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """One transaction; commits on success, rolls back on error."""
        from sqlalchemy.exc import OperationalError

        try:
            with self.engine.begin() as conn:
                yield _Tx(conn)
        except OperationalError as exc:
            raise KitaruBackendError(f"state store unreachable ({exc.orig}); check the database URL") from exc

    def execute_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Buffered:
        """Run one write statement in its own transaction (rows are fetched before commit)."""
        with self.transaction() as tx:
            result = tx.execute(sql, params)
            rows = result.fetchall()
        return Buffered(rows, result.rowcount)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[_Row]:
        """Run a read query and return all rows."""
        with self.transaction() as tx:
            return tx.execute(sql, params).fetchall()

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()
