"""Web UI speed (issue 16): the executions page over 100,000 executions, an execution with 1,000
checkpoints, and `kitaru ui` serving time.

    python bench/bench_ui.py --runs 15

Page times are server time: the request through the whole ASGI app in-process (session check,
queries, template rendering), no network. `kitaru ui` is timed from process spawn to the first
answered request of the start URL.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import ROOT, median, tempdir  # noqa: E402

N_EXECUTIONS = 100_000
N_CHECKPOINTS = 1_000


def seed(home: Path) -> str:
    """100,000 executions and one with 1,000 checkpoints (+ attempts, LLM metadata); returns its id."""
    from kitaru.store._sqlite import SQLiteDatabase

    home.mkdir(parents=True, exist_ok=True)
    SQLiteDatabase(home / "kitaru.db").close()  # bootstrap the schema
    con = sqlite3.connect(home / "kitaru.db")
    rnd = random.Random(7)
    now = time.time()
    src, cfg = json.dumps({"module": "agent", "qualname": "f"}), json.dumps({"stack": "default"})
    inputs = json.dumps({})
    statuses = ["completed"] * 8 + ["failed", "running", "waiting", "cancelled"]
    rows = []
    for i in range(N_EXECUTIONS):
        t = now - (N_EXECUTIONS - i) * 5.0
        st = rnd.choice(statuses)
        rows.append((f"{rnd.getrandbits(128):032x}", f"flow_{i % 20}", src, st, ["default", "k8s"][i % 2], cfg, inputs,
                     1, "{}", t, t + 3, None if st in ("running", "waiting") else t + 3))
    big = "f" * 32
    rows.append((big, "big_flow", src, "completed", "default", cfg, inputs, 1, "{}", now, now + 60, now + 60))
    con.executemany("INSERT INTO executions (id, flow_name, flow_source, status, stack, config, inputs, runs, metadata,"
                    " created_at, updated_at, ended_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    calls, attempts = [], []
    for s in range(N_CHECKPOINTS):
        inv = f"step_{s}"
        md = {"duration_s": 0.05}
        if s % 10 == 0:
            md["llm_calls"] = {"llm_1": {"resolved_model": "openai/gpt-4o-mini", "tokens_input": 100,
                                         "tokens_output": 20, "cost_usd": 0.0001, "latency_ms": 300.0}}
        output = json.dumps({"sha256": f"{s:064x}", "size": 20, "serializer": "json", "type": None,
                             "store": "file:///nowhere"})
        calls.append((big, inv, s, "step", "checkpoint", "completed", 1, f"('input {s}',)", output, json.dumps(md),
                      now + s * 0.06, now + s * 0.06 + 0.05))
        attempts.append((big, inv, 1, "completed", now + s * 0.06, now + s * 0.06 + 0.05))
    con.executemany("INSERT INTO checkpoint_calls (exec_id, invocation_id, seq, name, type, status, attempts,"
                    " input_preview, output, metadata, started_at, ended_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", calls)
    con.executemany("INSERT INTO checkpoint_attempts (exec_id, invocation_id, attempt, status, started_at, ended_at)"
                    " VALUES (?,?,?,?,?,?)", attempts)
    con.commit()
    con.close()
    return big


def time_pages(home: Path, big: str, runs: int) -> dict[str, float]:
    """Median server time (ms) per page."""
    from fastapi.testclient import TestClient

    from kitaru.ui._local import local_app

    client = TestClient(local_app(home, "bench"), base_url="http://127.0.0.1")
    assert client.get("/ui/start?token=bench").status_code == 200
    first = client.get("/").text
    cursor = re.search(r'href="/\?(before_created_at=[^"]+)"', first).group(1).replace("&amp;", "&")
    deep = time.time() - 300_000  # a cursor deep in the table (page ~1,200)
    pages = {
        "executions page (50 newest of 100,000)": "/",
        "executions page, next page (keyset cursor)": f"/?{cursor}",
        "executions page, cursor ~60,000 rows deep": f"/?before_created_at={deep}&before_id=z",
        "executions page, status=failed": "/?status=failed",
        "executions page, flow + stack + last 7d": "/?flow=flow_3&stack=k8s&since=7d",
        "executions page, id-prefix search": "/?q=ab",
        "execution with 1,000 checkpoints": f"/executions/{big}",
    }
    out = {}
    for name, url in pages.items():
        assert client.get(url).status_code == 200, url  # warm
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        out[name] = median(times)
    return out


def time_kitaru_ui(home: Path, runs: int) -> tuple[float, float]:
    """Median seconds from spawning `kitaru ui --no-browser` to its start URL answering, and the median CPU
    seconds the process used by then (user + system: what a loaded, shared machine cannot inflate)."""
    import resource

    import httpx

    env = {**os.environ, "KITARU_HOME": str(home), "PYTHONPATH": str(ROOT)}
    times, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "kitaru.cli", "ui", "--no-browser"], env=env,
                                stderr=subprocess.PIPE, text=True)
        try:
            url = re.search(r"(http://\S+)", proc.stderr.readline()).group(1)
            while True:
                try:
                    if httpx.get(url, follow_redirects=False, timeout=5).status_code == 303:
                        break
                except httpx.TransportError:
                    time.sleep(0.01)
            times.append(time.perf_counter() - t)
        finally:
            proc.terminate()
            proc.wait(10)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return median(times), median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    home = tempdir() / "ui-home"
    t = time.perf_counter()
    big = seed(home)
    print(f"seeded {N_EXECUTIONS:,} executions + 1 x {N_CHECKPOINTS:,} checkpoints in {time.perf_counter() - t:.1f} s")
    for name, ms in time_pages(home, big, args.runs).items():
        target = 500 if "1,000 checkpoints" in name else 300
        print(f"| {name} | {ms:.1f} ms | ≤ {target} ms | {'ok' if ms <= target else 'MISSED'} |")
    s, cpu = time_kitaru_ui(home, max(3, args.runs // 3))
    print(f"| `kitaru ui` spawn → start URL answers | {s:.2f} s | ≤ 1 s | {'ok' if s <= 1 else 'MISSED'} |")
    print(f"| `kitaru ui` CPU used by then (user + sys, incl. shutdown) | {cpu:.2f} s | — | |")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
