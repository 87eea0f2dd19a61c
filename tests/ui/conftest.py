"""Fixtures of tests/ui/, defined in its support.py (tests import helpers from there, never from a conftest)."""

from tests.ui.support import (  # noqa: F401 - registers the fixtures
    browser,
    flows,
    page,
    server,
    ui,
)
