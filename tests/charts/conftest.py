"""Fixtures of tests/charts/, defined in its support.py (tests import helpers from there, never from a conftest)."""

from tests.charts.support import (  # noqa: F401 - registers the fixtures
    helm,
    render,
    render_error,
)
