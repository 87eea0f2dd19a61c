"""`.run()` → first checkpoint in a fake-Vertex job, end to end (server on PostgreSQL, moto S3, FakeVertex).

    .venv/bin/python plugins/kitaru-vertex/bench/bench_vertex_e2e.py --runs 5

Splits each run at the moment the fake spawns the job's process: before it is Kitaru's dispatch (client
packaging + upload, brokered token, create_custom_job, the fake's QUEUED → PENDING → RUNNING); after it
is the job's interpreter start + runtime start-up (code download, imports) up to the first checkpoint.
The interpreter start alone (`python -c pass`, and `python -c "import kitaru.runtime"`) is printed too.
Runs through pytest to reuse the end-to-end test's fixtures. `BENCH_PROFILE=1` prints a cProfile of one `.run()`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("KITARU_HOME", __import__("tempfile").mkdtemp(prefix="kitaru-bench-home-"))
os.environ["KITARU_INTERACTIVE"] = "0"
HERE = Path(__file__).resolve()
ROOT = HERE.parents[3]
sys.path[:0] = [str(ROOT), str(HERE.parents[1] / "tests")]

from test_vertex_e2e import moto_url, world  # noqa: E402,F401

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
FLOW = '''
import os, time
from kitaru import checkpoint, flow

@checkpoint
def first(x: int) -> float:
    return time.time()

@flow
def timed(x: int) -> float:
    return first(x)
'''


def test_dispatch_overhead(world, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib

    vertex = world["vertex"]
    project = tmp_path / "project"  # its own project (a marker file): the server's log next to it is not shipped
    project.mkdir()
    (project / ".kitaruignore").write_text("")
    (project / "vertex_bench_flow.py").write_text(FLOW)
    monkeypatch.syspath_prepend(str(project))
    mod = importlib.import_module("vertex_bench_flow")
    dispatch, startup, total, returned, created = [], [], [], [], []
    for i in range(RUNS + 1):
        t0 = time.time()
        if os.environ.get("BENCH_PROFILE") and i == 2:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            handle = prof.runcall(mod.timed.run, i, stack="vx")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        else:
            handle = mod.timed.run(i, stack="vx")
        t_ret = time.time()
        first = handle.wait(timeout=120)
        job = vertex.jobs()[-1]["name"]
        spawned = vertex.runner.runs[job].spawned_at
        if i == 0:
            continue  # warm-up: the code archive is uploaded once; later runs upload nothing
        from datetime import datetime

        created.append(datetime.fromisoformat(vertex.jobs()[-1]["createTime"].replace("Z", "+00:00")).timestamp() - t0)
        returned.append(t_ret - t0)
        dispatch.append(spawned - t0)
        startup.append(first - spawned)
        total.append(first - t0)
    bare = _time([sys.executable, "-c", "pass"])
    runtime_import = _time([sys.executable, "-c", "import kitaru.runtime"])
    print(f"\n.run() returns:                                  median {statistics.median(returned) * 1000:.0f} ms")
    print(f".run() -> CustomJob created on the fake:         median {statistics.median(created) * 1000:.0f} ms")
    print(f".run() -> job process spawned (dispatch):        median {statistics.median(dispatch) * 1000:.0f} ms")
    print(f"process spawned -> first checkpoint starts:      median {statistics.median(startup) * 1000:.0f} ms")
    print(f".run() -> first checkpoint (total):              median {statistics.median(total) * 1000:.0f} ms")
    print(f"interpreter start alone: python -c pass {bare * 1000:.0f} ms;"
          f" python -c 'import kitaru.runtime' {runtime_import * 1000:.0f} ms")


def _time(cmd: list[str]) -> float:
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


if __name__ == "__main__":
    if "--runs" in sys.argv:
        os.environ["BENCH_RUNS"] = sys.argv[sys.argv.index("--runs") + 1]
    sys.exit(pytest.main([str(HERE), "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                          "-c", str(ROOT / "pyproject.toml")]))
