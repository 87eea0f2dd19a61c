"""Alembic migrations for the state store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HEAD_REVISION = "0003_memory"
"""The newest revision; the embedded bootstrap stamps fresh databases with it."""

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(connection: Any = None, url: str | None = None) -> Any:
    """Build an Alembic Config for this package, bound to a connection or a URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the database at `url`."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()
