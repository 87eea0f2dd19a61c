"""An isolated Kitaru environment per test: its own home, no ambient Kitaru settings, fresh discovery."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

AMBIENT_SETTINGS = ("KITARU_STACK", "KITARU_DISABLE_PLUGINS", "KITARU_AUTO_RECOVER", "KITARU_DEFAULT_MODEL",
                    "KITARU_LLM_MOCK_RESPONSE", "KITARU_CACHE", "KITARU_RETRIES", "KITARU_WAIT_TIMEOUT",
                    "KITARU_SERVER_URL", "KITARU_API_KEY", "KITARU_LOCAL_RUNNER_COMMAND")
"""Settings a developer's shell may hold that would change what a test runs against."""


@contextlib.contextmanager
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, lease_ttl: float | None = 3.0,
                  unset: Iterable[str] = ()) -> Iterator[Path]:
    """A fresh KITARU_HOME under `tmp_path`, non-interactive waits and a short runner lease (None: the default).

    The lease is short so a killed runner is declared lost quickly, yet long enough that a runner starved of
    CPU on a loaded machine is not (a 1 s lease was). `unset` names more variables to remove (cloud identities).
    Local runners fork from the test zygote (`KITARU_TEST_FORK=0`: fresh interpreters, as in production).
    Configuration and plugin discovery are reset on entry and exit."""
    from kitaru.config import reset_configuration
    from kitaru.plugins import reset_plugin_manager
    from kitaru.testing._forked import forked_runners_env

    home = tmp_path / "kitaru-home"
    monkeypatch.setenv("KITARU_HOME", str(home))
    monkeypatch.setenv("KITARU_INTERACTIVE", "0")
    if lease_ttl is not None:
        monkeypatch.setenv("KITARU_LEASE_TTL", str(lease_ttl))
    for var in (*AMBIENT_SETTINGS, *unset):
        monkeypatch.delenv(var, raising=False)
    for var, value in forked_runners_env().items():
        monkeypatch.setenv(var, value)
    reset_configuration()
    reset_plugin_manager()
    try:
        yield home
    finally:
        reset_configuration()
        reset_plugin_manager()
