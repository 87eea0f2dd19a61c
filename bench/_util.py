"""Helpers for the benchmarks: fresh environments, subprocess timing, medians."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def precompile() -> None:
    """Write the bytecode of Kitaru and its plugins, as an installed wheel has it: without it, every process a
    benchmark starts compiles each module it imports (this machine sets PYTHONDONTWRITEBYTECODE), which is not
    what a user's process does."""
    import compileall

    for folder in (ROOT / "kitaru", ROOT / "plugins"):
        compileall.compile_dir(folder, quiet=2, workers=1)


precompile()


def fresh_env(tmp: Path) -> dict[str, str]:
    """An environment with an empty HOME/XDG dir and no KITARU_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "xdg"), PYTHONPATH=str(ROOT))
    return env


def time_command(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one subprocess run (must succeed)."""
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


WORK = ROOT / "bench" / ".work"


def tempdir() -> Path:
    """A new empty directory on the project's filesystem (KITARU_BENCH_TMP overrides).

    Kitaru keeps state in the project's `.kitaru/`; on these machines /tmp creates files
    ~3x slower than the project disk, so benchmarks default to a folder beside the code.
    """
    base = Path(os.environ.get("KITARU_BENCH_TMP", WORK))
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="kitaru-bench-", dir=base))


def report(name: str, value: float, unit: str, target: str, ok: bool, extra: str = "") -> dict[str, str]:
    """One line of results, printed and returned for RESULTS.md."""
    row = {"name": name, "value": f"{value:.3f} {unit}" if unit != "ms" else f"{value:.3f} ms", "target": target,
           "ok": "yes" if ok else "NO", "extra": extra}
    print(f"{name:55s} {row['value']:>14s}   target {target:12s} {row['ok']:4s} {extra}", flush=True)
    return row


PY = sys.executable
