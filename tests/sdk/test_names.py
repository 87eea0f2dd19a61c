"""Names a flow gives (explicit checkpoint ids, wait names, artifact names) are checked before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from kitaru.errors import KitaruUserCodeError

FLOWS = '''
import os
import kitaru
from kitaru import checkpoint, flow

@checkpoint
def step() -> str:
    with open(os.environ["MARKS"], "a") as f:
        f.write("ran\\n")
    return "x"

@flow
def bad_id(bad: str) -> str:
    return step(id=bad)

@flow
def bad_wait(bad: str) -> str:
    return kitaru.wait(name=bad)

@checkpoint
def saving(bad: str) -> None:
    kitaru.save(bad, 1)
    with open(os.environ["MARKS"], "a") as f:
        f.write("saved\\n")

@flow
def bad_artifact(bad: str) -> None:
    saving(bad)
'''


@pytest.mark.parametrize("bad", ["a/b", "x\x1b[2J", "has space", "n" * 300])
@pytest.mark.parametrize("which", ["bad_id", "bad_wait", "bad_artifact"])
def test_an_invalid_name_fails_the_flow_before_the_step_runs(flow_module: Any, bad: str, which: str) -> None:
    flows = flow_module(FLOWS, f"names_{which}")
    with pytest.raises(KitaruUserCodeError, match="letters, digits"):
        getattr(flows, which).run(bad=bad).wait(timeout=30)
    assert flows.marks() == []
