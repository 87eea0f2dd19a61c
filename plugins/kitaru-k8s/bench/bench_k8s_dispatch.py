"""Plugin-side dispatch cost on the fake cluster: `submit()` latency and submit → container process running.

    .venv/bin/python plugins/kitaru-k8s/bench/bench_k8s_dispatch.py --runs 10

The fake's kubelet polls every 20-50 ms, so "to running" includes up to ~50 ms of fake polling; the
interpreter start of the pod's own process is excluded (we stop the clock when the pod is Running).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from kitaru.plugins import JobSpec
from kitaru_k8s.testing import FakeCluster


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-validate", action="store_true",
                        help="skip the fake's strict schema check (~40 ms/object)")
    args = parser.parse_args()
    validate = None if args.no_validate else "1.31"
    with FakeCluster(namespaces=("bench",), grace_period=0.5, validate=validate) as cluster:
        orch = cluster.orchestrator("bench", image="python:3.11")
        orch.submit(JobSpec("warm", [sys.executable, "-c", "pass"], env={"T": "x"}))  # client import + connection
        submits, running, statuses = [], [], []
        for i in range(args.runs):
            command = [sys.executable, "-c", "import time; time.sleep(30)"]
            spec = JobSpec(f"b{i}", command, env={"KITARU_AUTH_TOKEN": "t"})
            t0 = time.perf_counter()
            job_id = orch.submit(spec)
            t1 = time.perf_counter()
            while orch.status(job_id).state != "running":
                time.sleep(0.005)
            t2 = time.perf_counter()
            orch.status(job_id)
            statuses.append(time.perf_counter() - t2)
            submits.append(t1 - t0)
            running.append(t2 - t0)
            orch.cancel(job_id)
    print(f"submit() (Job + Secret, 2 API calls): median {statistics.median(submits) * 1000:.1f} ms")
    print(f"submit -> pod Running:                median {statistics.median(running) * 1000:.1f} ms")
    print(f"status() (Job + pod list, 2 API calls): median {statistics.median(statuses) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
