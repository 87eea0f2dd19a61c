"""Fixtures of tests/, defined in its support.py (tests import helpers from there, never from a conftest)."""

from tests.support import (  # noqa: F401 - registers the fixtures
    flow_file,
    flow_module,
    kitaru_home,
)
