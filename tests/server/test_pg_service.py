"""The state service suite again, on the server's psycopg database layer (tests/store/test_service.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conftest import pg_database
from tests.store.test_service import *


@pytest.fixture
def state() -> Iterator[object]:
    """A StateService on PostgreSQL through kitaru.server._pg."""
    from kitaru.server._pg import PsycopgDatabase
    from kitaru.store import StateService

    url, drop = pg_database()
    db = PsycopgDatabase(url)
    yield StateService(db)
    db.close()
    drop()  # type: ignore[operator]
