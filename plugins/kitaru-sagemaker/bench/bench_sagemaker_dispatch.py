"""Dispatch overhead on the fake SageMaker: `.run()` → the first checkpoint running in the job's process.

    .venv/bin/python plugins/kitaru-sagemaker/bench/bench_sagemaker_dispatch.py --runs 5

Needs PostgreSQL on 127.0.0.1:5432 and `moto[server]`. The client has no AWS credentials: it mints
dispatch credentials through the server (STS on moto) and creates the job on the fake, whose process
runs `python -m kitaru.runtime`. Reported per run: `.run()` return time, `.run()` → first checkpoint
body, and that minus the job process' bare interpreter start (`python -c pass`, measured separately).
Plugin-side figures (submit, submit → Training, status) are measured against the fake alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

PROFILE = bool(os.environ.get("BENCH_PROFILE"))
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

FLOW = '''
import os, time
from kitaru import checkpoint, flow

@checkpoint
def first(i: int) -> float:
    with open(os.environ["MARKS"], "a") as f:
        f.write(f"{time.time()}\\n")
    return 1.0

@flow
def bench_flow(i: int) -> float:
    return first(i)
'''


def interpreter_start(runs: int = 5) -> float:
    """Median wall time of `python -c pass` (what the job's own process spends before any Kitaru code)."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def plugin_side(runs: int) -> None:
    from kitaru.plugins import JobSpec
    from kitaru_sagemaker.testing import FakeSageMaker

    with FakeSageMaker(start_delay=0.0, download_delay=0.0, stop_grace=0.2) as fake:
        orch = fake.orchestrator(image="img")
        orch.submit(JobSpec("warm", [sys.executable, "-c", "pass"]))
        submits, running, statuses = [], [], []
        for i in range(runs):
            t0 = time.perf_counter()
            job = orch.submit(JobSpec(f"b{i}", [sys.executable, "-c", "import time; time.sleep(30)"],
                                      env={"KITARU_AUTH_TOKEN": "t"}))
            t1 = time.perf_counter()
            while orch.status(job).state != "running":
                time.sleep(0.005)
            t2 = time.perf_counter()
            orch.status(job)
            statuses.append(time.perf_counter() - t2)
            submits.append(t1 - t0)
            running.append(t2 - t0)
            orch.cancel(job)
    print(f"submit() (CreateTrainingJob):      median {statistics.median(submits) * 1000:.1f} ms")
    print(f"submit -> InProgress/Training:     median {statistics.median(running) * 1000:.1f} ms")
    print(f"status() (DescribeTrainingJob):    median {statistics.median(statuses) * 1000:.1f} ms")


def end_to_end(runs: int) -> None:
    from kitaru.testing import LocalServer
    from kitaru_sagemaker.testing import FakeSageMaker
    from tests.e2e.moto import ROOT_CREDS, boto, moto_server
    from tests.server.support import pg_database

    tmp = Path(tempfile.mkdtemp(prefix="kitaru-bench-sm-"))
    marks = tmp / "marks.txt"
    marks.touch()
    (tmp / "bench_sm_flow.py").write_text(FLOW)
    with moto_server() as moto_url:
        bucket = f"kitaru-{uuid.uuid4().hex[:10]}"
        boto("s3", moto_url).create_bucket(Bucket=bucket)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
        roles = [boto("iam", moto_url).create_role(RoleName=f"r{i}-{uuid.uuid4().hex[:6]}",
                                                   AssumeRolePolicyDocument=trust)["Role"]["Arn"] for i in (0, 1)]
        url, drop = pg_database()
        job_env = {"PYTHONPATH": str(ROOT), "MARKS": str(marks), "AWS_EC2_METADATA_DISABLED": "true"}
        server_env = {"AWS_ACCESS_KEY_ID": ROOT_CREDS["aws_access_key_id"],
                      "AWS_SECRET_ACCESS_KEY": ROOT_CREDS["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1"}
        try:
            with FakeSageMaker(start_delay=0.0, download_delay=0.0, base_env=job_env) as fake, \
                    LocalServer(url, tmp / "server-home", env=server_env) as server:
                for var in [v for v in os.environ if v.startswith("AWS_")]:
                    del os.environ[var]
                os.environ.update({"KITARU_HOME": str(tmp / "home"), "KITARU_SERVER_URL": server.url,
                                   "KITARU_API_KEY": server.admin_key, "MARKS": str(marks),
                                   "AWS_EC2_METADATA_DISABLED": "true", "KITARU_INTERACTIVE": "0"})
                os.chdir(tmp)
                sys.path.insert(0, str(tmp))
                from kitaru.stacks import register_stack

                register_stack("sm.yaml", text=textwrap.dedent(f"""
                    name: sm
                    orchestrator: {{flavor: sagemaker, role_arn: "arn:aws:iam::123456789012:role/jobs",
                                    dispatch_role_arn: "{roles[1]}", output_path: "s3://{bucket}/out", image: img,
                                    region: us-east-1, endpoint_url: "{fake.url}", sts_endpoint_url: "{moto_url}"}}
                    artifact_store: {{flavor: s3, path: "s3://{bucket}/kitaru", region: us-east-1,
                                      endpoint_url: "{moto_url}", role_arn: "{roles[0]}"}}
                """), activate=False)
                import bench_sm_flow

                bare = interpreter_start()
                returns, firsts, spawns = [], [], []
                for i in range(runs + 1):  # the first run warms the client (imports, credentials, code upload)
                    before = len(marks.read_text().split())
                    t0 = time.time()
                    if PROFILE and i == 1:
                        import cProfile
                        import pstats

                        prof = cProfile.Profile()
                        handle = prof.runcall(bench_sm_flow.bench_flow.run, i, stack="sm")
                        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
                    else:
                        handle = bench_sm_flow.bench_flow.run(i, stack="sm")
                    t1 = time.time()
                    result = handle.wait(timeout=120)
                    assert result == 1.0, result
                    first = float(marks.read_text().split()[before])
                    spawned = max(fake.jobs.values(), key=lambda j: j.created).spawned_at or first
                    if i:
                        returns.append(t1 - t0)
                        firsts.append(first - t0)
                        spawns.append(spawned - t0)
                print(f"bare interpreter start (python -c pass): {bare * 1000:.0f} ms")
                print(f".run() returns:                          median {statistics.median(returns) * 1000:.0f} ms")
                print(f".run() -> first checkpoint (wall):       median {statistics.median(firsts) * 1000:.0f} ms"
                      f"  (runs: {', '.join(f'{f * 1000:.0f}' for f in firsts)})")
                print(f".run() -> job process spawned:           median {statistics.median(spawns) * 1000:.0f} ms")
                print(f"dispatch overhead (minus interpreter):   median {(statistics.median(firsts) - bare) * 1000:.0f} ms")
        finally:
            drop()  # type: ignore[operator]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plugin-only", action="store_true")
    args = parser.parse_args()
    plugin_side(max(args.runs, 5))
    if not args.plugin_only:
        end_to_end(args.runs)


if __name__ == "__main__":
    main()
