"""Fixtures for the Kitaru 0.4 compatibility tests: a module of flows run on the embedded store; the server
fixtures for the tests that need one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.server.support import sqlite_server  # noqa: F401 - fixture

FLOWS = '''
import kitaru
from kitaru import checkpoint, flow


@checkpoint
def research(topic: str) -> str:
    print(f"researching {topic}")
    kitaru.save("sources", ["a", "b"], type="context")
    return f"notes on {topic}"


@checkpoint
def write(notes: str) -> str:
    print("writing")
    return notes.upper()


@checkpoint
def explode(notes: str) -> str:
    raise ValueError("no budget left")


@flow
def pipeline(topic: str = "ai") -> str:
    print("flow body speaking")
    return write(research(topic))


@flow
def broken(topic: str = "ai") -> str:
    return explode(research(topic))


@flow
def review(topic: str = "ai") -> dict:
    notes = research(topic)
    ok = kitaru.wait(schema=bool, name="approve", question=f"Publish {topic}?", metadata={"team": "docs"})
    return {"notes": notes, "approved": ok}
'''


@pytest.fixture
def flows(flow_module: Callable[[str, str], Any]) -> Any:
    """The compat flows, importable by runner processes."""
    return flow_module(FLOWS, "compat_flows")


def run(handle: Any) -> str:
    """The exec id of a finished (or waiting) local run; failures are expected by some tests."""
    return str(handle.exec_id)
