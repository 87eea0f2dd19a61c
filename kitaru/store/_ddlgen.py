"""Render the embedded store's bootstrap DDL from `schema.metadata`.

Run `python -m kitaru.store._ddlgen` after changing the schema; a test fails while the
checked-in `_ddl_sqlite.sql` differs from what this renders.
"""

from __future__ import annotations

from pathlib import Path

DDL_PATH = Path(__file__).with_name("_ddl_sqlite.sql")


def render_sqlite_ddl() -> str:
    """Return the CREATE TABLE/INDEX statements for SQLite, one per `;`-terminated block."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from kitaru.store.schema import metadata

    dialect = sqlite.dialect()
    parts: list[str] = []
    for table in metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    DDL_PATH.write_text(render_sqlite_ddl())
    print(f"wrote {DDL_PATH}")
