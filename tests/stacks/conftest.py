"""Plugin tests start from a freshly discovered plugin manager."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    """Forget plugins registered by other tests (and re-read KITARU_DISABLE_PLUGINS)."""
    from kitaru.plugins import reset_plugin_manager

    reset_plugin_manager()
    yield
    reset_plugin_manager()
