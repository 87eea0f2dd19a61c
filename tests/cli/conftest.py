"""Fixtures for the CLI tests (helpers live in tests/cli/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import FLOWS


@pytest.fixture
def project(tmp_path: Path, kitaru_home: Path) -> Path:
    """A directory with the test flows in `flows.py` (the state lives in the test's KITARU_HOME)."""
    (tmp_path / "flows.py").write_text(FLOWS)
    return tmp_path
