"""Fixtures of tests/mcp/, defined in its support.py (tests import helpers from there, never from a conftest)."""

from tests.mcp.support import (  # noqa: F401 - registers the fixtures
    anyio_backend,
    project,
)
