"""CLI start-up benchmarks (issue 3): `kitaru --help` and `kitaru executions list` on an empty project,
each <= 0.3 s wall. Run: `python bench/bench_cli.py [--runs 7]`; results feed bench/RESULTS.md.

Measured twice: with Python's bytecode cache (what an installed `kitaru` sees; the cache goes to a
temporary PYTHONPYCACHEPREFIX, not into the checkout) and without it (PYTHONDONTWRITEBYTECODE=1, as
set in this sandbox, so every run compiles the editable-installed `kitaru` sources again)."""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import PY, fresh_env, median, report, tempdir, time_command  # noqa: E402

KITARU = str(Path(PY).with_name("kitaru"))
BUDGET = 0.3


def time_in_pty(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one run with stdout on a pseudo-terminal (the rich, coloured path)."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.chdir(cwd)
        os.execve(cmd[0], cmd, env)
    while True:
        ready, _, _ = select.select([fd], [], [], 10)
        if not ready:
            break
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed in a pty")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median reported)")
    runs = parser.parse_args().runs
    tmp = tempdir()
    project = tmp / "project"
    project.mkdir()
    cold = fresh_env(tmp)
    cold["PYTHONDONTWRITEBYTECODE"] = "1"
    env = {k: v for k, v in cold.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    subprocess.run([KITARU, "init", str(project)], env=env, check=True, stdout=subprocess.DEVNULL, timeout=60)

    def measure(cmd: list[str], pty_: bool = False, run_env: dict[str, str] = env) -> float:
        timer = time_in_pty if pty_ else time_command
        timer(cmd, cwd=project, env=run_env)  # warm the OS cache and .pyc files
        return median([timer(cmd, cwd=project, env=run_env) for _ in range(runs)])

    base = measure([PY, "-c", "pass"])
    print(f"kitaru CLI start-up, median of {runs} runs (wall, subprocess); bare interpreter {base:.3f} s\n")
    rows = []
    for name, cmd in [("kitaru --help", [KITARU, "--help"]),
                      ("kitaru executions list (empty project)", [KITARU, "executions", "list"]),
                      ("kitaru executions list -o json (empty project)", [KITARU, "executions", "list", "-o", "json"])]:
        value = measure(cmd)
        rows.append(report(name, value, "s", f"<= {BUDGET} s", value <= BUDGET))
    for name, cmd in [("kitaru --help (no bytecode cache)", [KITARU, "--help"]),
                      ("kitaru executions list (no bytecode cache)", [KITARU, "executions", "list"])]:
        value = measure(cmd, run_env=cold)
        rows.append(report(name, value, "s", "(info)", True))
    for name, cmd in [("kitaru --help (in a pty)", [KITARU, "--help"]),
                      ("kitaru executions list (in a pty, empty project)", [KITARU, "executions", "list"])]:
        value = measure(cmd, pty_=True)
        rows.append(report(name, value, "s", "(info)", True))
    flow = project / "bench_flow.py"
    flow.write_text("from kitaru import checkpoint, flow\n\n@checkpoint\ndef step(x: int) -> int:\n    return x + 1\n\n"
                    "@flow\ndef one(x: int = 1) -> int:\n    return step(x)\n")
    for _ in range(20):
        subprocess.run([KITARU, "run", f"{flow}:one"], cwd=project, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
    listing = [KITARU, "executions", "list"]
    for name, cmd, use_pty in [("kitaru executions list (20 executions)", listing, False),
                               ("kitaru executions list (20 executions, in a pty)", listing, True),
                               ("kitaru run bench_flow.py:one (one checkpoint)", [KITARU, "run", f"{flow}:one"],
                                False)]:
        value = measure(cmd, use_pty)
        rows.append(report(name, value, "s", "(info)", True))
    if not all(r["ok"] == "yes" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
