"""The schema has one source of truth: SQLAlchemy tables = Alembic migrations = bootstrap DDL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kitaru.store._ddlgen import DDL_PATH, render_sqlite_ddl
from kitaru.store.migrations import HEAD_REVISION, upgrade


def _sqlite_schema(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    out = {t: sorted(conn.execute(f"PRAGMA table_info({t})").fetchall()) for t in tables}
    out["indexes"] = sorted(conn.execute(
        "SELECT tbl_name, name FROM sqlite_master WHERE type='index' AND name NOT LIKE 'sqlite_autoindex%'").fetchall())
    conn.close()
    return out


def test_checked_in_ddl_is_rendered_from_the_tables() -> None:
    assert DDL_PATH.read_text() == render_sqlite_ddl(), "run `python -m kitaru.store._ddlgen`"


def test_bootstrap_and_migrations_build_the_same_sqlite_schema(tmp_path: Path) -> None:
    from kitaru.store._sqlite import SQLiteDatabase

    SQLiteDatabase(tmp_path / "boot.db").close()
    upgrade(f"sqlite:///{tmp_path / 'migrated.db'}")
    assert _sqlite_schema(tmp_path / "boot.db") == _sqlite_schema(tmp_path / "migrated.db")


def test_migrations_match_the_tables_on_postgresql(pg_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine, text

    from kitaru.store.schema import metadata

    upgrade(pg_url)
    upgrade(pg_url)  # idempotent
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_an_existing_store_at_an_older_revision_is_upgraded_through_alembic(tmp_path: Path) -> None:
    from kitaru.store._sqlite import SQLiteDatabase

    path = tmp_path / "old.db"
    upgrade(f"sqlite:///{path}", "base")  # alembic_version exists but is empty: an older store
    db = SQLiteDatabase(path)
    assert db.query("SELECT version_num FROM alembic_version")[0][0] == HEAD_REVISION
    assert db.query("SELECT count(*) FROM executions")[0][0] == 0
