"""Compatibility tests reuse the server fixtures."""

from tests.server.conftest import sqlite_server  # noqa: F401 - fixture
