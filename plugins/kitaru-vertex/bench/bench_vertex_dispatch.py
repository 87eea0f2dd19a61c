"""Plugin-side dispatch cost on the fake Vertex AI: mint, `submit()`, submit → container process running, status.

    .venv/bin/python plugins/kitaru-vertex/bench/bench_vertex_dispatch.py --runs 10

The official JobServiceClient (REST) against the loopback fake. The fake's runner polls every 20 ms and
starts the process right after QUEUED → PENDING → RUNNING (no queue or provisioning delay), so "to
running" is the plugin + wire + fake overhead; the job's own interpreter start is excluded (the clock
stops when the job reports RUNNING, i.e. the process was spawned).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from kitaru.plugins import JobSpec
from kitaru_vertex.testing import FakeVertex


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with FakeVertex(grace_period=0.5) as vertex:
        orch = vertex.orchestrator(image="python:3.11")
        t0 = time.perf_counter()
        orch.submit(JobSpec("warm", [sys.executable, "-c", "pass"], env={"T": "x"}))  # client import + connection
        first = time.perf_counter() - t0
        mints, submits, running, statuses = [], [], [], []
        for i in range(args.runs):
            t = time.perf_counter()
            orch.mint_dispatch_credentials(ttl=900)
            mints.append(time.perf_counter() - t)
            spec = JobSpec(f"b{i}", [sys.executable, "-c", "import time; time.sleep(30)"],
                           env={"KITARU_AUTH_TOKEN": "t"})
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
    print(f"first submit() (imports aiplatform_v1, builds the client): {first * 1000:.0f} ms")
    print(f"mint_dispatch_credentials() (generateAccessToken):        median {statistics.median(mints) * 1000:.1f} ms")
    print(f"submit() (create_custom_job, 1 API call):                 median {statistics.median(submits) * 1000:.1f} ms")
    print(f"submit -> job RUNNING (process spawned):                  median {statistics.median(running) * 1000:.1f} ms")
    print(f"status() (get_custom_job, 1 API call):                    median {statistics.median(statuses) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
