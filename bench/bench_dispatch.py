"""Remote-execution benchmarks (issue 11): packaging the project's code, and dispatch on the fake cluster.

Run: `python bench/bench_dispatch.py [--runs 7]`; results feed bench/RESULTS.md. Targets: packaging an
unchanged 1,000-file project <= 0.3 s (nothing uploaded); a changed one uploads only the new archive.

`python bench/bench_dispatch.py --k8s [--runs 7]`: `.run()` -> first checkpoint in a fake-cluster pod, end to
end (a server on PostgreSQL, moto S3, `kitaru_k8s.testing.FakeCluster`; the client has no cloud credentials and
no kubeconfig; an unchanged project, so no code upload). Each run is split where the fake kubelet spawns the
pod's process: before is Kitaru's dispatch, after is the pod's interpreter start + runtime start-up. Targets:
`.run()` returns <= 0.5 s; `.run()` -> first checkpoint <= 1.5 s excluding the pod's interpreter start
(`python -c pass`, measured in the same sitting). Runs through pytest to reuse the end-to-end test's fixtures;
`BENCH_PROFILE=1` prints a cProfile of one `.run()`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import ROOT, median, report, tempdir  # noqa: E402

sys.path.insert(0, str(ROOT))
from kitaru.artifacts import LocalArtifactStore  # noqa: E402
from kitaru.runtime._code import package_code  # noqa: E402


class CountingStore(LocalArtifactStore):
    """The local store, counting uploads."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.uploads = 0

    def write(self, key: str, data: Any) -> None:
        self.uploads += 1
        super().write(key, data)


def make_project(root: Path, files: int = 1000) -> dict[str, Any]:
    """A project of `files` small Python modules in 20 packages, with a flow file at the top."""
    (root / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    for i in range(files - 3):
        pkg = root / f"pkg{i % 20}"
        pkg.mkdir(exist_ok=True)
        (pkg / f"mod{i}.py").write_text(f"VALUE = {i}\n" + "# filler\n" * 20)
    (root / "flows.py").write_text("from kitaru import flow\n")
    return {"module": None, "file": str(root / "flows.py"), "qualname": "f", "importable": True}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = tempdir()
    source = make_project(tmp / "project")
    store = CountingStore(tmp / "store")
    cache = tmp / "cache"
    start = time.perf_counter()
    package_code(source, store, cache_dir=cache)
    first = time.perf_counter() - start
    unchanged = []
    for _ in range(args.runs):
        start = time.perf_counter()
        package_code(source, store, cache_dir=cache)
        unchanged.append(time.perf_counter() - start)
    uploads_unchanged = store.uploads
    (tmp / "project" / "pkg0" / "mod0.py").write_text("VALUE = 'changed'\n")
    start = time.perf_counter()
    package_code(source, store, cache_dir=cache)
    changed = time.perf_counter() - start
    report("package a new 1,000-file project (pack + upload)", first, "s", "(info)", True)
    report("package an unchanged 1,000-file project", median(unchanged), "s", "<= 0.3 s",
           median(unchanged) <= 0.3 and uploads_unchanged == 1, f"uploads after {args.runs} re-runs: {uploads_unchanged}")
    report("package after one file changed", changed, "s", "1 new upload", store.uploads == 2,
           f"uploads: {store.uploads}")


K8S_FLOW = '''
import time
from kitaru import checkpoint, flow

@checkpoint
def first(x: int) -> float:
    return time.time()

@flow
def timed(x: int) -> float:
    return first(x)
'''


def test_k8s_dispatch_overhead(world: dict[str, Any], tmp_path: Path, monkeypatch: Any) -> None:
    """The end-to-end dispatch figures on the fake cluster (a pytest test: it reuses tests/e2e's fixtures)."""
    import importlib
    import os

    from kitaru.client import KitaruClient

    cluster = world["cluster"]
    if os.environ.get("BENCH_POD_PYTHONPATH"):  # e.g. a sitecustomize that profiles each pod's interpreter
        cluster.base_env["PYTHONPATH"] = os.environ["BENCH_POD_PYTHONPATH"] + os.pathsep + cluster.base_env["PYTHONPATH"]
    project = tmp_path / "project"  # its own project (a marker file): nothing else next to it is shipped
    project.mkdir()
    (project / ".kitaruignore").write_text("")
    (project / "k8s_bench_flow.py").write_text(K8S_FLOW)
    monkeypatch.syspath_prepend(str(project))
    monkeypatch.chdir(project)
    mod = importlib.import_module("k8s_bench_flow")
    runs = int(os.environ.get("BENCH_RUNS", "7"))
    returned, dispatch, startup, total = [], [], [], []
    for i in range(runs + 1):
        t0 = time.time()
        if os.environ.get("BENCH_PROFILE") and i == 2:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            handle = prof.runcall(mod.timed.run, i, stack="k8s")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        else:
            handle = mod.timed.run(i, stack="k8s")
        t_ret = time.time()
        first = handle.wait(timeout=120)
        spawned = cluster.spawned_at(KitaruClient().executions.get(handle.exec_id).job_id)
        if i == 0:
            continue  # warm-up: the code archive is uploaded once; later runs upload nothing
        returned.append(t_ret - t0)
        dispatch.append(spawned - t0)
        startup.append(first - spawned)
        total.append(first - t0)
    bare = _time_median([sys.executable, "-c", "pass"])
    runtime_import = _time_median([sys.executable, "-c", "import kitaru.runtime"])
    print()
    report(".run() returns", median(returned), "s", "<= 0.5 s", median(returned) <= 0.5)
    report(".run() -> pod process spawned (dispatch)", median(dispatch), "s", "(info)", True)
    report("pod spawned -> first checkpoint starts", median(startup), "s", "(info)", True)
    report(".run() -> first checkpoint (total)", median(total), "s", "(info)", True)
    report(".run() -> first checkpoint - interpreter start", median(total) - bare, "s", "<= 1.5 s",
           median(total) - bare <= 1.5, f"python -c pass {bare * 1000:.0f} ms; import kitaru.runtime"
           f" {runtime_import * 1000:.0f} ms; runs {runs}")


def _time_median(cmd: list[str]) -> float:
    import os
    import subprocess

    runs = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        runs.append(time.perf_counter() - t)
    return median(runs)


def k8s_main(runs: int) -> int:
    """Run `test_k8s_dispatch_overhead` under pytest (fixtures from tests/e2e/test_kubernetes_s3.py)."""
    import os
    import tempfile

    import pytest

    os.environ["BENCH_RUNS"] = str(runs)
    os.environ.setdefault("KITARU_HOME", tempfile.mkdtemp(prefix="kitaru-bench-home-"))
    os.environ["KITARU_INTERACTIVE"] = "0"
    return int(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                            "-c", str(ROOT / "pyproject.toml"), "-k", "k8s_dispatch_overhead"]))


if "pytest" in sys.modules:  # the fixtures of the end-to-end test, when this file runs under pytest (`--k8s`)
    from tests.e2e.test_kubernetes_s3 import moto_url, world  # noqa: F401


if __name__ == "__main__":
    if "--k8s" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 7
        sys.exit(k8s_main(runs))
    main()
