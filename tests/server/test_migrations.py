"""Migrations: upgrade from an empty database and from the previous revision, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from kitaru.store.migrations import HEAD_REVISION, upgrade
from tests.server.support import pg_database

SERVER_TABLES = {"principals", "api_keys", "server_keys", "request_keys", "secret_grants"}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    url, drop = pg_database()
    yield url
    drop()  # type: ignore[operator]


def _state(url: str) -> tuple[str, set[str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    return str(version), tables


def test_upgrade_from_empty(db_url: str) -> None:
    upgrade(db_url)
    version, tables = _state(db_url)
    assert version == HEAD_REVISION and SERVER_TABLES <= tables and "executions" in tables


def test_upgrade_from_the_previous_revision_keeps_data(db_url: str) -> None:
    upgrade(db_url, "0001")
    assert _state(db_url)[0] == "0001" and not SERVER_TABLES & _state(db_url)[1]
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO executions (id, flow_name, flow_source, status, stack, config, inputs, runs,"
                          " created_at, updated_at) VALUES ('e1', 'f', '{}', 'completed', 'default', '{}', '{}', 1, 1, 1)"))
    engine.dispose()
    from kitaru.store._databases import open_database  # what `kitaru server up` / `server migrate` do

    db = open_database(db_url)
    assert db.query("SELECT id FROM executions")[0][0] == "e1"
    db.close()
    version, tables = _state(db_url)
    assert version == HEAD_REVISION and SERVER_TABLES <= tables


def test_concurrent_server_starts_migrate_once(tmp_path: Path) -> None:
    import threading

    url, drop = pg_database()
    try:
        from kitaru.store._databases import open_database

        errors: list[BaseException] = []

        def start() -> None:
            try:
                open_database(url).close()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors and _state(url)[0] == HEAD_REVISION
    finally:
        drop()  # type: ignore[operator]
