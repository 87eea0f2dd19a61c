"""The state store suite runs on both backends: embedded SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN = os.environ.get("KITARU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    psycopg = pytest.importorskip("psycopg")
    name = f"kitaru_t_{uuid.uuid4().hex[:10]}"
    dsn = PG_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # the CI script starts PostgreSQL; locally it must run too
        pytest.fail(f"PostgreSQL is not reachable at {dsn}: {exc}; start it (see .ci/run)")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path):
    """A StateService on the embedded SQLite store or on PostgreSQL through SQLAlchemy."""
    from kitaru.store import StateService

    if request.param == "sqlite":
        from kitaru.store._sqlite import SQLiteDatabase

        db = SQLiteDatabase(tmp_path / "state.db")
        yield StateService(db)
        db.close()
    else:
        from kitaru.store._sqlalchemy import SQLAlchemyDatabase

        url = request.getfixturevalue("pg_url")
        db = SQLAlchemyDatabase(url)
        yield StateService(db)
        db.close()
