"""CLI test helpers: run `kitaru` as a real subprocess, flows in a real file, bounded polling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kitaru.testing._forked import run_kitaru

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("kitaru")
KITARU = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "kitaru.cli"]

FLOWS = textwrap.dedent('''
    """Flows for the CLI tests (runner processes re-import this file, so everything is at module level)."""
    import time
    from pathlib import Path

    import kitaru
    from kitaru import checkpoint, flow

    HERE = Path(__file__).resolve().parent
    FAIL_FLAG = HERE / "fail.flag"


    @checkpoint
    def fetch(topic: str) -> str:
        print(f"fetching {topic}")
        return f"notes on {topic}"


    @checkpoint
    def summarize(notes: str) -> str:
        print("summarizing")
        return notes.upper()


    @flow
    def research(topic: str = "ai") -> str:
        return summarize(fetch(topic))


    @flow
    def approval(topic: str = "ai") -> dict:
        notes = fetch(topic)
        ok = kitaru.wait(schema=bool, name="approve", question=f"Publish {topic}?")
        return {"notes": notes, "approved": ok}


    @checkpoint
    def flaky(notes: str) -> str:
        if FAIL_FLAG.exists():
            raise RuntimeError("flaky failed on purpose")
        return notes + "!"


    @flow
    def fragile(topic: str = "ai") -> str:
        return flaky(fetch(topic))


    @checkpoint
    def tick(i: int) -> int:
        print(f"tick {i}")
        time.sleep(0.05)
        return i


    @flow
    def ticker(n: int = 3) -> int:
        total = 0
        for i in range(n):
            total += tick(i)
        return total


    not_a_flow = 42

    if __name__ == "__main__":
        (HERE / "main_ran.flag").write_text("the __main__ block ran")
''')


def cli_env(**extra: str) -> dict[str, str]:
    """The test's environment (KITARU_HOME etc.) for a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("KITARU_DEBUG", None)
    env.update(extra)
    return env


def kitaru(*args: str, cwd: Path, timeout: float = 60, input: str | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `kitaru` command: a process of its own, forked from a warm zygote that has the CLI
    imported (`kitaru.testing._forked`; a fresh interpreter with KITARU_TEST_FORK=0)."""
    return run_kitaru(list(args), cwd=cwd, env=env or cli_env(), input=input or "", timeout=timeout)


def kitaru_json(*args: str, cwd: Path, code: int = 0) -> dict[str, Any]:
    """Run `kitaru … -o json`, check the exit code, return the one JSON document."""
    result = kitaru(*args, "-o", "json", cwd=cwd)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    return json.loads(result.stdout)


def run_flow(project: Path, name: str, *extra: str, code: int = 0) -> dict[str, Any]:
    """`kitaru run flows.py:NAME -o json` → the execution dict."""
    doc = kitaru_json("run", f"flows.py:{name}", *extra, cwd=project, code=code)
    assert doc["command"] == "run"
    return doc["item"]


def wait_until(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def client() -> Any:
    """A client on the test's KITARU_HOME."""
    from kitaru.client import KitaruClient

    return KitaruClient()
