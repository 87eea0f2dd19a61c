"""`kitaru.testing.kill_and_retry`, the crash scenario every artifact store plugin runs, on the default stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitaru.testing import kill_and_retry, read_elsewhere


def test_the_default_stack_survives_kill_and_retry(kitaru_home: Path, tmp_path: Path) -> None:
    exec_id = kill_and_retry("default", tmp_path)
    out = read_elsewhere(exec_id)
    assert out.returncode == 0 and out.stdout.strip() == str(list(range(8))), out.stderr
    assert (kitaru_home / "artifacts").exists()  # the default stack's store: this home


def test_a_flow_that_cannot_start_fails_the_scenario_with_its_error(kitaru_home: Path, tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="no-such-stack"):
        kill_and_retry("no-such-stack", tmp_path)
