"""CLI start-up benchmarks (issue 3): `kitaru --help` and `kitaru executions list` on an empty project,
each <= 0.3 s wall. Run: `python bench/bench_cli.py [--runs 7]`; results feed bench/RESULTS.md.

Measured twice: with Python's bytecode cache (what an installed `kitaru` sees; the cache goes to a
temporary PYTHONPYCACHEPREFIX, not into the checkout) and without it (PYTHONDONTWRITEBYTECODE=1, as
set in this sandbox, so every run compiles the editable-installed `kitaru` sources again).
Cases run interleaved (one of each per round) so load from other processes hits them alike; the
child's CPU time (user+sys) is shown too, as it is far less sensitive to a busy machine than wall."""

from __future__ import annotations

import argparse
import os
import pty
import resource
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import PY, fresh_env, median, report, tempdir, time_command  # noqa: E402


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

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


Case = tuple[str, list[str], bool, dict[str, str], str]  # name, argv, in a pty, env, target


def measure_interleaved(cases: list[Case], runs: int, cwd: Path) -> dict[str, list[float]]:
    """Run every case once per round (after one warm-up round), so load spikes hit all cases alike."""
    times: dict[str, list[float]] = {name: [] for name, *_ in cases}
    for round_ in range(runs + 1):
        for name, cmd, use_pty, env, _ in cases:
            cpu = _child_cpu()
            elapsed = (time_in_pty if use_pty else time_command)(cmd, cwd=cwd, env=env)
            if round_:
                times[name].append(elapsed)
                times.setdefault(name + " cpu", []).append(_child_cpu() - cpu)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median reported)")
    runs = parser.parse_args().runs
    tmp = tempdir()
    try:
        ok = _bench(tmp, runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        sys.exit(1)


def _bench(tmp: Path, runs: int) -> bool:
    project = tmp / "project"
    project.mkdir()
    cold = fresh_env(tmp)
    cold["PYTHONDONTWRITEBYTECODE"] = "1"
    env = {k: v for k, v in cold.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": True, "timeout": 60}
    subprocess.run([KITARU, "init", str(project)], env=env, **quiet)  # type: ignore[call-overload]
    budget, info = f"<= {BUDGET} s", "(info)"
    listing = [KITARU, "executions", "list"]
    empty: list[Case] = [
        ("bare interpreter (python -c pass)", [PY, "-c", "pass"], False, env, info),
        ("kitaru --help", [KITARU, "--help"], False, env, budget),
        ("kitaru executions list (empty project)", listing, False, env, budget),
        ("kitaru executions list -o json (empty project)", [*listing, "-o", "json"], False, env, budget),
        ("kitaru --help (no bytecode cache)", [KITARU, "--help"], False, cold, info),
        ("kitaru executions list (no bytecode cache)", listing, False, cold, info),
        ("kitaru --help (in a pty)", [KITARU, "--help"], True, env, info),
        ("kitaru executions list (in a pty, empty project)", listing, True, env, info),
    ]
    times = measure_interleaved(empty, runs, project)
    flow = project / "bench_flow.py"
    flow.write_text("from kitaru import checkpoint, flow\n\n@checkpoint\ndef step(x: int) -> int:\n    return x + 1\n\n"
                    "@flow\ndef one(x: int = 1) -> int:\n    return step(x)\n")
    for _ in range(20):
        subprocess.run([KITARU, "run", f"{flow}:one"], cwd=project, env=env, **quiet)  # type: ignore[call-overload]
    full: list[Case] = [
        ("kitaru executions list (20 executions)", listing, False, env, info),
        ("kitaru executions list (20 executions, in a pty)", listing, True, env, info),
        ("kitaru run bench_flow.py:one (one checkpoint)", [KITARU, "run", f"{flow}:one"], False, env, info),
    ]
    times.update(measure_interleaved(full, runs, project))
    print(f"kitaru CLI start-up: wall seconds per subprocess, median of {runs} interleaved runs"
          f" (min wall, median child CPU in brackets); load average {os.getloadavg()[0]:.2f}\n")
    rows = []
    for name, *_, target in empty + full:
        value = median(times[name])
        rows.append(report(name, value, "s", target, target == info or value <= BUDGET,
                           f"[min {min(times[name]):.3f}, cpu {median(times[name + ' cpu']):.3f}]"))
    return all(r["ok"] == "yes" for r in rows)


if __name__ == "__main__":
    main()
