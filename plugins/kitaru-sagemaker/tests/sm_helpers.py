"""Shared helpers of the kitaru-sagemaker tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/kitaru-runtime:1"


def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached within {timeout}s"
        time.sleep(0.05)
