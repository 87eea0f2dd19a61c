"""Alembic environment: runs migrations on the connection handed in by `upgrade()`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from kitaru.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: no connection handed in and no sqlalchemy.url set; run migrations through"
                           " kitaru (`kitaru server migrate`)")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
