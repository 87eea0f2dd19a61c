"""Fixtures of tests/, defined in its support.py (tests import helpers from there, never from a conftest)."""

from tests.support import (  # noqa: F401 - registers the fixtures
    flow_file,
    flow_module,
    kitaru_home,
)


def pytest_sessionfinish(session: object) -> None:
    """Drop this process's PostgreSQL template and pooled test databases (xdist workers skip atexit)."""
    import sys

    support = sys.modules.get("tests.server.support")
    if support is not None:
        support.DATABASES.finish()
