"""Shared helpers of the kitaru-vertex tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

IMAGE = "us-docker.pkg.dev/kitaru-test/agents/runtime:1"


def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.05)
