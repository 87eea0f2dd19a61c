"""Same-machine, same-run comparison of Kitaru and DBOS (dbos-transact) on SQLite.

Run: `/work/main/.venv/bin/python bench/bench_vs_dbos.py [--runs 5] [--only import first_run ...]`.

Not part of the test suite. DBOS is installed into its own venv, `bench/.work/dbos-venv`
(created with `python3 -m venv` + `pip install dbos` when missing), never into the project's
venv; Kitaru runs with the project's interpreter and PYTHONPATH=<repo>. Every figure is the
median of `--runs` fresh subprocesses per system, run interleaved (Kitaru, DBOS, Kitaru, DBOS,
...) so load changes on a noisy machine hit both. The scripts each subprocess runs are written
to `bench/.work/vs-dbos/` so every row's command can be rerun by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import ROOT, WORK, median, tempdir

KITARU_PY = Path(sys.executable)
DBOS_VENV = WORK / "dbos-venv"
DBOS_PY = DBOS_VENV / "bin" / "python"
SCRIPTS = WORK / "vs-dbos"
WAL = "dbos-wal"  # DBOS with Kitaru's SQLite pragmas, an extra informative variant
MARK = "RESULT "  # in-process scripts print "RESULT <json list>" (DBOS also logs to the console)

# ---------------------------------------------------------------------------------------------
# Workload scripts. In each pair the two systems do the same thing with their idiomatic API:
# Kitaru `@checkpoint` / `@flow` + `flow.run(...).wait()` (runs in the calling process);
# DBOS `@DBOS.step()` / `@DBOS.workflow()` called directly after `DBOS.launch()` (also runs in
# the calling thread), with a SQLite system database in a fresh directory.
# ---------------------------------------------------------------------------------------------

DBOS_SETUP = '''
import os
from dbos import DBOS
if os.environ.get("DBOS_BENCH_WAL"):
    # Variant: give DBOS's SQLite connections Kitaru's settings (WAL, synchronous=NORMAL) instead
    # of DBOS's defaults (rollback journal, synchronous=FULL: fsyncs on every commit).
    import sqlalchemy as sa

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _wal(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
DBOS(config={"name": "bench", "system_database_url": "sqlite:///" + os.path.abspath(os.environ.get("DBOS_DB", "dbos.sqlite"))})
'''

FIRST_RUN = {
    "kitaru": '''
from kitaru import checkpoint, flow

@checkpoint
def step(x: int) -> dict:
    return {"x": x}

@flow
def one(x: int) -> dict:
    return step(x)

if __name__ == "__main__":
    assert one.run(1).wait() == {"x": 1}
''',
    "dbos": DBOS_SETUP + '''
@DBOS.step()
def step(x: int) -> dict:
    return {"x": x}

@DBOS.workflow()
def one(x: int) -> dict:
    return step(x)

if __name__ == "__main__":
    DBOS.launch()
    assert one(1) == {"x": 1}
    DBOS.destroy()
''',
}

_TIMED = '''
import statistics

def per_step(n, reps):
    """Median wall of an n-step run minus that of a 0-step run, alternated, per step."""
    base, full = [], []
    for _ in range(reps):
        t = time.perf_counter(); RUN(0); base.append(time.perf_counter() - t)
        t = time.perf_counter(); RUN(n); full.append(time.perf_counter() - t)
    return (statistics.median(full) - statistics.median(base)) / n

RUN(0); RUN(10)  # warm: store created, modules imported
n10 = per_step(10, 40)
n1000 = per_step(1000, 3)
print("RESULT " + json.dumps([n10 * 1000, n1000 * 1000]), flush=True)
'''

PER_STEP = {
    "kitaru": '''
import json, time
from kitaru import checkpoint, flow

@checkpoint
def step(i: int) -> dict:
    return {"i": i, "status": "ok", "items": [1, 2, 3]}

@flow
def many(n: int) -> int:
    for i in range(n):
        step(i)
    return n

RUN = lambda n: many.run(n).wait()
''' + _TIMED,
    "dbos": DBOS_SETUP + '''
import json, time

@DBOS.step()
def step(i: int) -> dict:
    return {"i": i, "status": "ok", "items": [1, 2, 3]}

@DBOS.workflow()
def many(n: int) -> int:
    for i in range(n):
        step(i)
    return n

DBOS.launch()
RUN = many
''' + _TIMED + '''
DBOS.destroy()
''',
}

LARGE = {
    "kitaru": '''
import json, os, time
from kitaru import checkpoint, flow
payload = os.urandom(10 * 1024 * 1024)
elapsed = []

@checkpoint
def big() -> bytes:
    return payload

@checkpoint
def small() -> int:
    return 1

@flow
def f() -> int:
    small()
    t = time.perf_counter(); big(); elapsed.append(time.perf_counter() - t)
    return 1

f.run().wait()  # warm
f.run().wait()
print("RESULT " + json.dumps([elapsed[-1] * 1000]), flush=True)
''',
    "dbos": DBOS_SETUP + '''
import json, time
payload = os.urandom(10 * 1024 * 1024)
elapsed = []

@DBOS.step()
def big() -> bytes:
    return payload

@DBOS.step()
def small() -> int:
    return 1

@DBOS.workflow()
def f() -> int:
    small()
    t = time.perf_counter(); big(); elapsed.append(time.perf_counter() - t)
    return 1

DBOS.launch()
f()  # warm
f()
print("RESULT " + json.dumps([elapsed[-1] * 1000]), flush=True)
DBOS.destroy()
''',
}

# Both fork a finished 50-step run from the 41st step: 40 recorded results are copied, steps
# 41..50 run again. Kitaru names the n-th call of `step` "step_n" (1-based); DBOS step ids
# (function_id) are 1-based too, and fork_workflow(id, 41) copies the steps with id < 41.
REPLAY = {
    "kitaru": '''
import json, time
from kitaru import checkpoint, flow

@checkpoint
def step(i: int) -> dict:
    return {"i": i, "text": "x" * 200}

@flow
def fifty() -> int:
    return sum(step(i)["i"] for i in range(50))

h = fifty.run(); assert h.wait() == 1225
assert fifty.replay(h.exec_id, from_="step_41").wait() == 1225  # warm
t = time.perf_counter(); r = fifty.replay(h.exec_id, from_="step_41"); res = r.wait()
elapsed = time.perf_counter() - t
assert res == 1225
print("RESULT " + json.dumps([elapsed]), flush=True)
''',
    "dbos": DBOS_SETUP + '''
import json, time

@DBOS.step()
def step(i: int) -> dict:
    return {"i": i, "text": "x" * 200}

@DBOS.workflow()
def fifty() -> int:
    return sum(step(i)["i"] for i in range(50))

DBOS.launch()
h = DBOS.start_workflow(fifty); assert h.get_result() == 1225
wid = h.get_workflow_id()
assert DBOS.fork_workflow(wid, 41).get_result() == 1225  # warm
t = time.perf_counter(); r = DBOS.fork_workflow(wid, 41); res = r.get_result()
elapsed = time.perf_counter() - t
assert res == 1225
steps = DBOS.list_workflow_steps(r.get_workflow_id())
assert len(steps) == 50 and steps[40]["function_id"] == 41, steps[40]
print("RESULT " + json.dumps([elapsed]), flush=True)
DBOS.destroy()
''',
}

# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------


def ensure_dbos() -> str:
    """Create bench/.work/dbos-venv with `dbos` installed if missing; return the DBOS version."""
    if not DBOS_PY.exists():
        print(f"creating {DBOS_VENV} and installing dbos ...", flush=True)
        subprocess.run(["python3", "-m", "venv", str(DBOS_VENV)], check=True, timeout=300)
    probe = [str(DBOS_PY), "-c", "import importlib.metadata as m; print(m.version('dbos'))"]
    res = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
    if res.returncode != 0:
        subprocess.run([str(DBOS_PY), "-m", "pip", "install", "-q", "dbos"], check=True, timeout=900)
        res = subprocess.run(probe, capture_output=True, text=True, check=True, timeout=120)
    return res.stdout.strip()


def env_for(system: str, tmp: Path) -> dict[str, str]:
    """A clean environment: empty HOME/XDG, no KITARU_*/DBOS_* settings; PYTHONPATH only for Kitaru."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KITARU_", "DBOS_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "xdg"))
    if system == "kitaru":
        env["PYTHONPATH"] = str(ROOT)
        env["KITARU_HOME"] = str(tmp / "kitaru-home")
    else:
        env["DBOS_DB"] = str(tmp / "dbos.sqlite")
        if system == WAL:
            env["DBOS_BENCH_WAL"] = "1"
    return env


def python_for(system: str) -> Path:
    return KITARU_PY if system == "kitaru" else DBOS_PY


def code_for(system: str) -> str:
    return "kitaru" if system == "kitaru" else "dbos"  # the WAL variant runs the DBOS script


def write_script(name: str, system: str, code: str) -> Path:
    SCRIPTS.mkdir(parents=True, exist_ok=True)
    path = SCRIPTS / f"{name}_{system}.py"
    path.write_text(textwrap.dedent(code).lstrip())
    return path


class Failed(Exception):
    pass


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> tuple[float, str]:
    """Run one bounded subprocess; return (wall seconds, stdout)."""
    start = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Failed(f"timeout after {timeout:.0f} s: {shlex.join(cmd)}") from exc
    wall = time.perf_counter() - start
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-15:])
        raise Failed(f"exit {res.returncode}: {shlex.join(cmd)}\n{tail}")
    return wall, res.stdout


def parse(stdout: str) -> list[float]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith(MARK)]
    if not lines:
        raise Failed(f"no {MARK!r} line in output:\n{stdout[-2000:]}")
    return json.loads(lines[-1][len(MARK):])


def rel(p: Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


Sample = Callable[[str], list[float]]  # system -> one or more figures from one fresh subprocess


def interleave(runs: int, sample: Sample, systems: tuple[str, ...] = ("kitaru", "dbos")) -> dict[str, list[list[float]]]:
    """Call `sample` alternately for each system (Kitaru, DBOS, ...), `runs` times each."""
    out: dict[str, list[list[float]]] = {s: [] for s in systems}
    for _ in range(runs):
        for system in systems:
            out[system].append(sample(system))
    return out


# One row: (workload, unit, kitaru values, dbos values, command)
Row = tuple[str, str, list[float], list[float], str]


def bench_import(runs: int, timeout: float) -> list[Row]:
    tmp = tempdir()
    mods = {"kitaru": "kitaru", "dbos": "dbos"}

    def sample(system: str) -> list[float]:
        env = env_for(system, tmp)
        wall, _ = run([str(python_for(system)), "-c", f"import {mods[system]}"], cwd=tmp, env=env, timeout=timeout)
        bare, _ = run([str(python_for(system)), "-c", "pass"], cwd=tmp, env=env, timeout=timeout)
        cmd = [str(python_for(system)), "-X", "importtime", "-c", f"import {mods[system]}"]
        try:
            res = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout, check=True)
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
            raise Failed(f"{shlex.join(cmd)}: {exc}") from exc
        top = [ln.split("|") for ln in res.stderr.splitlines() if ln.count("|") == 2]
        inproc = sum(int(c[1]) for c in top if c[2].strip() == mods[system]) / 1e6  # the module's cumulative
        return [wall, bare, inproc]

    res = interleave(runs, sample)
    return [
        ("`import` wall, whole process (interpreter incl.)", "s", [r[0] for r in res["kitaru"]],
         [r[0] for r in res["dbos"]], "`<py> -c 'import kitaru'` vs `<dbos-py> -c 'import dbos'`"),
        ("`import` in-process (`-X importtime` cumulative)", "s", [r[2] for r in res["kitaru"]],
         [r[2] for r in res["dbos"]], "`<py> -X importtime -c 'import kitaru'` vs same for dbos"),
        ("bare interpreter (reference)", "s", [r[1] for r in res["kitaru"]], [r[1] for r in res["dbos"]],
         "`<py> -c pass` (each venv)"),
    ]


def bench_first_run(runs: int, timeout: float) -> list[Row]:
    scripts = {s: write_script("first_run", s, FIRST_RUN[s]) for s in FIRST_RUN}

    def sample(system: str) -> list[float]:
        tmp = tempdir()
        work = tmp / "empty"
        work.mkdir()
        env = env_for(system, tmp)
        env.pop("KITARU_HOME", None)  # Kitaru: state goes to the empty directory's .kitaru/
        if system == "dbos":
            env["DBOS_DB"] = str(work / "dbos.sqlite")  # DBOS: its SQLite file in the empty directory
        wall, _ = run([str(python_for(system)), str(scripts[system])], cwd=work, env=env, timeout=timeout)
        return [wall]

    res = interleave(runs, sample)
    return [("first one-step run, empty dir, whole process", "s", [r[0] for r in res["kitaru"]],
             [r[0] for r in res["dbos"]], _cmd(scripts))]


def _cmd(scripts: dict[str, Path]) -> str:
    return f"`<py> {rel(scripts['kitaru'])}` vs `<dbos-py> {rel(scripts['dbos'])}`"


def _in_process(name: str, codes: dict[str, str], runs: int, timeout: float,
                systems: tuple[str, ...] = ("kitaru", "dbos")) -> tuple[dict[str, list[list[float]]], str]:
    scripts = {s: write_script(name, s, codes[s]) for s in codes}

    def sample(system: str) -> list[float]:
        tmp = tempdir()
        _, stdout = run([str(python_for(system)), str(scripts[code_for(system)])], cwd=tmp,
                        env=env_for(system, tmp), timeout=timeout)
        return parse(stdout)

    return interleave(runs, sample, systems), _cmd(scripts)


WAL_NOTE = " — DBOS on WAL + synchronous=NORMAL (Kitaru's SQLite settings)"
WAL_CMD = "same, with `DBOS_BENCH_WAL=1` for DBOS"


def bench_per_step(runs: int, timeout: float) -> list[Row]:
    res, cmd = _in_process("per_step", PER_STEP, runs, timeout, ("kitaru", "dbos", WAL))
    rows: list[Row] = []
    for i, n in enumerate((10, 1000)):
        k = [r[i] for r in res["kitaru"]]
        label = f"per-step overhead, small dict, N={n} (minus 0-step run)"
        rows.append((label, "ms", k, [r[i] for r in res["dbos"]], cmd))
        rows.append((label + WAL_NOTE, "ms", k, [r[i] for r in res[WAL]], WAL_CMD))
    return rows


def bench_large(runs: int, timeout: float) -> list[Row]:
    res, cmd = _in_process("large_output", LARGE, runs, timeout, ("kitaru", "dbos", WAL))
    label = "10 MB `bytes` step output (step call, warm process)"
    k = [r[0] for r in res["kitaru"]]
    return [(label, "ms", k, [r[0] for r in res["dbos"]], cmd),
            (label + WAL_NOTE, "ms", k, [r[0] for r in res[WAL]], WAL_CMD)]


def bench_replay(runs: int, timeout: float) -> list[Row]:
    res, cmd = _in_process("replay", REPLAY, runs, timeout)
    return [("fork/replay finished 50-step run from step 41, to result", "s", [r[0] for r in res["kitaru"]],
             [r[0] for r in res["dbos"]], cmd)]


BENCHES: dict[str, Callable[[int, float], list[Row]]] = {
    "import": bench_import, "first_run": bench_first_run, "per_step": bench_per_step,
    "large_output": bench_large, "replay": bench_replay,
}


def fmt(value: float, unit: str) -> str:
    return f"{value:.3f} {unit}" if value < 100 else f"{value:.1f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=list(BENCHES), choices=list(BENCHES))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per subprocess")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")

    version = ensure_dbos()
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False,
                         timeout=30).stdout.strip()
    print(f"Kitaru @ {rev} ({KITARU_PY}), DBOS {version} ({DBOS_PY}); python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.2f}; {args.runs} interleaved runs per system", flush=True)

    rows: list[Row] = []
    failures: list[str] = []
    for name in args.only:
        t = time.perf_counter()
        try:
            new = BENCHES[name](args.runs, args.timeout)
        except Failed as exc:
            failures.append(f"{name}: {exc}")
            print(f"[{name}] FAILED: {exc}", flush=True)
            continue
        rows += new
        for workload, unit, k, d, _ in new:
            print(f"[{name}] {workload}: kitaru {fmt(median(k), unit)}  dbos {fmt(median(d), unit)}  "
                  f"({time.perf_counter() - t:.0f} s)", flush=True)

    print(f"\nload average at end {os.getloadavg()[0]:.2f}\n")
    print("| workload | Kitaru median | DBOS median | DBOS / Kitaru | command |")
    print("|---|---|---|---|---|")
    for workload, unit, k, d, cmd in rows:
        mk, md = median(k), median(d)
        ratio = f"{md / mk:.1f}x" if mk > 0 else "n/a"
        print(f"| {workload} | {fmt(mk, unit)} | {fmt(md, unit)} | {ratio} | {cmd} |")
    print(f"\n`<py>` = {KITARU_PY} (PYTHONPATH={ROOT}); `<dbos-py>` = {DBOS_PY} (dbos {version}).")
    if failures:
        print("\nFAILED:\n" + "\n".join(failures))
    if args.json:
        args.json.write_text(json.dumps({"dbos_version": version, "kitaru_rev": rev, "rows": [
            {"workload": w, "unit": u, "kitaru": k, "dbos": d, "command": c} for w, u, k, d, c in rows],
            "failures": failures}, indent=1))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
