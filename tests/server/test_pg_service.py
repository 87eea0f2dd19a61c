"""The state service suite again, on the server's psycopg database layer (tests/store/test_service.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.support import pg_database
from tests.store.test_service import *


@pytest.fixture
def state() -> Iterator[object]:
    """The server's StateService on PostgreSQL through kitaru.store._pg (single-statement complete_call)."""
    from kitaru.store._pg import PsycopgDatabase, pg_state_service

    url, drop = pg_database()
    db = PsycopgDatabase(url)
    yield pg_state_service(db)
    db.close()
    drop()  # type: ignore[operator]
