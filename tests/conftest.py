"""Fixtures of tests/, defined in its support.py (tests import helpers from there, never from a conftest)."""

import json
import os
from pathlib import Path

import pytest

from tests.support import (  # noqa: F401 - registers the fixtures
    flow_file,
    flow_module,
    kitaru_home,
)


DURATIONS = Path(__file__).with_name("durations.json")
"""Seconds of worker time per test file, measured (`KITARU_RECORD_DURATIONS=1 bash scripts/test.sh` rewrites it)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first (DURATIONS; a file it does not know counts 0.5 s a test): under xdist (`loadfile`, and
    scripts/test.sh's --no-loadscope-reorder keeps this order) none is left running alone at the end of the run.
    The same order in every worker; tests keep their order within a file."""
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    sizes: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        sizes[path] = sizes.get(path, 0) + 1
    items.sort(key=lambda item: (-known.get(path := item.nodeid.split("::", 1)[0], 0.5 * sizes[path]), path))


_durations: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With KITARU_RECORD_DURATIONS set, add up each file's setup, call and teardown time (in the xdist controller,
    which sees every worker's reports, or in a run without workers)."""
    if os.environ.get("KITARU_RECORD_DURATIONS") and not os.environ.get("PYTEST_XDIST_WORKER"):
        path = report.nodeid.split("::", 1)[0]
        _durations[path] = _durations.get(path, 0.0) + report.duration


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything imported so far (the SDK, servers, cloud SDKs, test modules) out of the garbage collector's
    sight: a worker's full collections then scan only what its tests allocate (~10% of its CPU was collections)."""
    import gc

    gc.collect()
    gc.freeze()


def pytest_configure(config: pytest.Config) -> None:
    """An xdist controller starts the test zygote its workers share (kitaru.testing._forked.share_zygote)."""
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        from kitaru.testing._forked import share_zygote

        share_zygote()


def pytest_sessionfinish(session: object) -> None:
    """Write the recorded file durations; drop this process's PostgreSQL template and pooled test databases
    (xdist workers skip atexit)."""
    import sys

    if _durations:
        DURATIONS.write_text(json.dumps({k: round(v, 1) for k, v in sorted(_durations.items())}, indent=0) + "\n")

    support = sys.modules.get("tests.server.support")
    if support is not None:
        support.DATABASES.finish()
