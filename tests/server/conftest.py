"""Fixtures of tests/server/, defined in its support.py (tests import helpers from there, never from a conftest)."""

from tests.server.support import (  # noqa: F401 - registers the fixtures
    backend,
    connected,
    sqlite_server,
)
