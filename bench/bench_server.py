"""Server benchmarks (issue 5): per-checkpoint overhead against a loopback server on PostgreSQL,
8 concurrent runtimes (aggregate checkpoints/s, p99), `executions list` first page over 100k rows.
Run: `python bench/bench_server.py [--steps 500] [--runtimes 8] [--workers 1] [--compare-fast-lane]`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _util import tempdir  # noqa: E402

PG_ADMIN = os.environ.get("KITARU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
KEY = "kit_bench-" + uuid.uuid4().hex
FLOW = textwrap.dedent('''
    import json, os, sys, time
    from kitaru import checkpoint, flow

    @checkpoint
    def step(i: int) -> dict:
        return {"i": i}

    @flow
    def bench(n: int) -> list:
        lat, run = [], time.time_ns()  # new inputs every run: every checkpoint runs (no cross-execution cache hit)
        for i in range(n):
            t = time.perf_counter()
            step(run + i)
            lat.append(time.perf_counter() - t)
        return lat

    if __name__ == "__main__":
        n, ready, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        bench.run(n=5).wait()  # warm up imports and connections
        open(ready, "w").close()
        deadline = time.monotonic() + 300
        while not os.path.exists(go) and time.monotonic() < deadline:  # start together: measure real concurrency
            time.sleep(0.005)
        t0 = time.time()
        lat = bench.run(n=n).wait()
        print(json.dumps({"start": t0, "end": time.time(), "lat": lat}))
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_index() -> float:
    """Seconds for a fixed pure-Python loop: how fast this (shared, throttled) machine is right now."""
    start = time.perf_counter()
    sum(range(10**7))
    return time.perf_counter() - start


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def _start_server(db_url: str, home: Path, workers: int, sync: str | None = None, fast_lane: bool = True
                  ) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env.update(PYTHONPATH=str(ROOT), KITARU_HOME=str(home), KITARU_BOOTSTRAP_API_KEY=KEY)
    if sync:
        env["KITARU_SERVER_PG_SYNCHRONOUS_COMMIT"] = sync
    if not fast_lane:
        env["KITARU_SERVER_FAST_LANE"] = "0"
    proc = subprocess.Popen([sys.executable, "-m", "kitaru.server", "--port", str(port),
                             "--database-url", db_url, "--workers", str(workers)], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def _run_flows(url: str, tmp: Path, steps: int, count: int) -> list[dict[str, object]]:
    tmp.mkdir(parents=True, exist_ok=True)
    script = tmp / "bench_flow.py"
    script.write_text(FLOW)
    procs, go = [], tmp / f"go-{uuid.uuid4().hex}"
    ready = [tmp / f"ready-{uuid.uuid4().hex}" for _ in range(count)]
    for i in range(count):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "KITARU_SERVER_URL": url, "KITARU_API_KEY": KEY,
               "KITARU_HOME": str(tmp / f"home{i}"), "KITARU_LOG_CAPTURE": "1"}
        procs.append(subprocess.Popen([sys.executable, str(script), str(steps), str(ready[i]), str(go)], env=env,
                                      cwd=tmp, stdout=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 300
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    return [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]


def _list_bench(url: str, db_url: str, rows: int) -> dict[str, float]:
    import httpx
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM executions").fetchone()[0]
        conn.execute(
            "INSERT INTO executions (id, flow_name, flow_source, status, stack, config, inputs, runs, created_at,"
            " updated_at) SELECT md5(g::text || random()::text), 'flow_' || (g %% 20), '{}',"
            " (ARRAY['completed','failed','waiting','cancelled'])[1 + g %% 4], 'default', '{}', '{}', 1,"
            " 1700000000 + g, 1700000000 + g FROM generate_series(1, %s) g", (max(0, rows - have),))
        conn.execute("ANALYZE executions")
    client = httpx.Client(base_url=url)
    token = client.post("/api/v1/auth/token", json={"api_key": KEY}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    out = {}
    for label, params in (("first_page", {"limit": 50}), ("status_filter", {"limit": 50, "status": "failed"}),
                          ("flow_filter", {"limit": 50, "flow": "flow_7"})):
        client.get("/api/v1/executions", params=params, headers=headers)
        times = []
        for _ in range(30):
            t = time.perf_counter()
            page = client.get("/api/v1/executions", params=params, headers=headers)
            times.append((time.perf_counter() - t) * 1000)
            assert page.status_code == 200
        out[f"{label}_median_ms"] = statistics.median(times)
        if label == "first_page":
            nxt = page.json()["next"] or {}
    times = []
    for _ in range(30):
        t = time.perf_counter()
        client.get("/api/v1/executions", params={"limit": 50, **nxt}, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
    out["keyset_next_page_median_ms"] = statistics.median(times)
    return out


def _one_runtime(url: str, server_pid: int, tmp: Path, steps: int) -> tuple[list[float], float]:
    """One runtime's per-checkpoint latencies (ms) and the server's CPU ms per checkpoint (warm-up run included;
    meaningful with one worker, where the server is that one process)."""
    cpu_before = _cpu_seconds(server_pid)
    [single] = _run_flows(url, tmp, steps, 1)
    lat = [x * 1000 for x in single["lat"]]  # type: ignore[union-attr]
    return lat, 1000 * (_cpu_seconds(server_pid) - cpu_before) / len(lat)


def _fast_lane_ab(db_url: str, lane_url: str, lane_pid: int, tmp: Path, args: argparse.Namespace
                  ) -> dict[str, dict[str, float]]:
    """One runtime against the server with and without the checkpoint fast lane (a second server on the same
    database), interleaved, each run in a fresh home: medians of per-checkpoint latency and server CPU."""
    proc, plain_url = _start_server(db_url, tmp / "server-home-plain", args.workers, args.sync_commit, fast_lane=False)
    results: dict[str, list[tuple[float, float]]] = {"fast_lane": [], "fastapi_only": []}
    try:
        for i in range(3):
            for name, url, pid in (("fast_lane", lane_url, lane_pid), ("fastapi_only", plain_url, proc.pid)):
                lat, server_cpu = _one_runtime(url, pid, tmp / f"ab-{name}-{i}", args.steps)
                results[name].append((statistics.median(lat), server_cpu))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    return {name: {"median_ms": statistics.median(r[0] for r in runs),
                   "server_cpu_ms_per_checkpoint": statistics.median(r[1] for r in runs)}
            for name, runs in results.items()}


def main() -> None:
    """Run every server benchmark and print a JSON report."""
    import psycopg

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--concurrent-steps", type=int, default=300)
    parser.add_argument("--runtimes", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sync-commit", default=None, help="KITARU_SERVER_PG_SYNCHRONOUS_COMMIT for the server")
    parser.add_argument("--compare-fast-lane", action="store_true",
                        help="also measure one runtime against a server without the checkpoint fast lane")
    args = parser.parse_args()
    name = f"kitaru_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    db_url = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"
    report: dict[str, object] = {"workers": args.workers, "synchronous_commit": args.sync_commit or "on",
                                 "cpu_index_s_before": _cpu_index()}
    tmp = tempdir()  # on the project's disk, like a real project's .kitaru/ (see bench/_util.py)
    try:
        proc, url = _start_server(db_url, tmp / "server-home", args.workers, args.sync_commit)
        try:
            lat, server_cpu = _one_runtime(url, proc.pid, tmp, args.steps)
            report["per_checkpoint_ms"] = {"median": statistics.median(lat), "p99": _pct(lat, 0.99),
                                           "n": len(lat)}
            if args.workers == 1:  # the server is this one process
                report["server_cpu_ms_per_checkpoint"] = server_cpu
            if args.compare_fast_lane:
                report["fast_lane_ab"] = _fast_lane_ab(db_url, url, proc.pid, tmp, args)
            runs = _run_flows(url, tmp, args.concurrent_steps, args.runtimes)
            all_lat = [x * 1000 for r in runs for x in r["lat"]]  # type: ignore[union-attr]
            wall = max(r["end"] for r in runs) - min(r["start"] for r in runs)  # type: ignore[type-var,operator]
            report["concurrent"] = {"runtimes": args.runtimes, "checkpoints": len(all_lat),
                                    "checkpoints_per_s": len(all_lat) / wall, "median_ms": statistics.median(all_lat),
                                    "p99_ms": _pct(all_lat, 0.99)}
            print(json.dumps(report, indent=2), file=sys.stderr)
            report["executions_list_100k"] = _list_bench(url, db_url, args.rows)
            report["cpu_index_s_after"] = _cpu_index()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
