"""Fixtures of tests/, defined in its support.py (tests import helpers from there, never from a conftest)."""

import pytest

from tests.support import (  # noqa: F401 - registers the fixtures
    flow_file,
    flow_module,
    kitaru_home,
)


LONGEST_FIRST = (
    "tests/runtime/test_crash_recovery.py", "tests/e2e/test_kubernetes_s3.py",
    "plugins/kitaru-sagemaker/tests/test_sagemaker_e2e.py", "tests/server/test_fuzz.py",
    "plugins/kitaru-vertex/tests/test_vertex_e2e.py", "tests/cli/test_cli_process.py", "tests/sdk/test_wait_replay.py",
    "tests/ui/test_browser.py", "tests/server/test_backends.py", "tests/adapters/test_pydantic_ai.py",
    "tests/store/test_fencing.py", "tests/memory/test_memory_sdk.py", "tests/providers/test_local.py",
    "plugins/kitaru-s3/tests/test_s3_conformance.py", "plugins/kitaru-gcs/tests/test_gcs_conformance.py",
    "tests/server/test_identity.py")
"""The files that keep one xdist worker busy longest (20-85 s each: bench/RESULTS.md, "The suite, third sitting").
They start first, so that none is left running alone at the end of the run (longest-first scheduling); every
other file follows, most tests first. scripts/test.sh runs xdist with --no-loadscope-reorder to keep this order."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order the files as LONGEST_FIRST says (the same order in every worker; tests keep their order in a file)."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    sizes: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        sizes[path] = sizes.get(path, 0) + 1
    items.sort(key=lambda item: (rank.get(path := item.nodeid.split("::", 1)[0], len(rank)), -sizes[path], path))


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
    """Drop this process's PostgreSQL template and pooled test databases (xdist workers skip atexit)."""
    import sys

    support = sys.modules.get("tests.server.support")
    if support is not None:
        support.DATABASES.finish()
