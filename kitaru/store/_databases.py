"""Open a server's database by URL: the driver for each kind of database lives here, in the store.

`sqlite:///PATH` uses the embedded sqlite3 layer (made owner-only: a server's database holds secrets and
keys); PostgreSQL uses plain psycopg (the hot path) unless KITARU_SERVER_SQLALCHEMY is set; anything
else goes through SQLAlchemy (pool size and statement timeout from the tunables).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def open_database(database_url: str, *, migrate: bool = True) -> Any:
    """The database for a URL, migrated to the newest schema (unless `migrate=False` where the driver allows)."""
    if database_url.startswith("sqlite:///"):
        from kitaru.store._sqlite import SQLiteDatabase

        db = SQLiteDatabase(Path(database_url.removeprefix("sqlite:///")))  # bootstraps (0600) or migrates on open
        make_private(database_url)  # a server's database holds secrets and keys: owner-only, also when it existed
        return db
    if database_url.startswith(("postgresql+psycopg://", "postgresql://")) and not os.environ.get("KITARU_SERVER_SQLALCHEMY"):
        from kitaru.store._pg import PsycopgDatabase

        return PsycopgDatabase(database_url, migrate=migrate)
    from kitaru.config._tunables import tunables
    from kitaru.store._sqlalchemy import SQLAlchemyDatabase

    knobs = tunables()
    return SQLAlchemyDatabase(database_url, migrate=migrate, pool_size=knobs.db_pool,
                              statement_timeout=knobs.db_statement_timeout)


def make_private(database_url: str) -> None:
    """Tighten a SQLite file (and its WAL/SHM companions) to mode 0600 (new stores are created 0600)."""
    if not database_url.startswith("sqlite:///"):
        return
    path = Path(database_url.removeprefix("sqlite:///"))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            os.chmod(candidate, 0o600)
