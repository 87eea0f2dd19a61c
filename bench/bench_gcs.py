"""GCS artifact store (kitaru-gcs on fake-gcs-server) against S3 (kitaru-s3 on moto) in the same run.

Per-checkpoint overhead of a small output on each remote stack (and the local store for reference),
and the peak traced memory of a 100 MB checkpoint output written (and streamed back) through GCS.
Needs `pip install -e plugins/kitaru-s3[test] -e plugins/kitaru-gcs[test]`.

    python bench/bench_gcs.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "kitaru-gcs" / "tests"))
from _util import PY, fresh_env, median, report, tempdir  # noqa: E402

MOTO = """
import sys
from moto.server import ThreadedMotoServer
srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
srv.start()
host, port = srv.get_host_and_port()
print(f"http://{host}:{port}", flush=True)
sys.stdin.read()
srv.stop()
"""

SETUP = textwrap.dedent('''
    import json, os, sys, time
    import kitaru
    from kitaru import checkpoint, flow
    from kitaru.stacks import register_stack

    cfg = json.loads(os.environ["STORE"])
    if cfg["flavor"] == "s3":
        kitaru.create_secret("aws", aws_access_key_id="testing", aws_secret_access_key="testing")
    register_stack("b.yaml", text=json.dumps({"name": "b", "orchestrator": {"flavor": "local"},
                                              "artifact_store": cfg}))
''')

PER_CHECKPOINT = SETUP + textwrap.dedent('''
    @checkpoint
    def step(i: int, salt: str) -> dict:
        return {"i": i, "salt": salt, "status": "ok", "items": [1, 2, 3]}  # a new blob every time

    @flow
    def many(n: int, salt: str) -> int:
        for i in range(n):
            step(i, salt)
        return n

    many.run(0, "warm", stack="b").wait()
    many.run(2, "warm", stack="b").wait()  # clients built, connections open

    def timed(n, reps):
        out = []
        for r in range(reps):
            t = time.perf_counter(); many.run(n, f"{time.time_ns()}-{r}", stack="b").wait()
            out.append(time.perf_counter() - t)
        return sorted(out)[len(out) // 2]

    base = timed(0, 15)
    print(json.dumps([(timed(40, 5) - base) / 40 * 1000]))
''')

LARGE = SETUP + textwrap.dedent('''
    import tracemalloc
    SIZE = 100 * 1024 * 1024
    payload = os.urandom(SIZE)

    @checkpoint
    def big() -> bytes:
        return payload

    @flow
    def f() -> str:
        big()
        return "ok"

    from kitaru.stacks import resolve_stack
    store = resolve_stack("b").component("artifact_store")
    f.run(stack="b").wait()  # warm (clients, modules); the blob exists afterwards, so delete it
    for key in list(store.list("blobs/")):
        store.delete(key)
    tracemalloc.start()
    t = time.perf_counter(); f.run(stack="b").wait(); elapsed = time.perf_counter() - t
    _, write_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    size = 0
    for key in store.list("blobs/"):  # the 100 MB output and the flow's small result
        n = 0
        with store.open(key) as fh:
            while chunk := fh.read(1 << 20):
                n += len(chunk)
        size = max(size, n)
    _, read_peak = tracemalloc.get_traced_memory()
    assert size == SIZE, size
    print(json.dumps([write_peak / 2**20, read_peak / 2**20, elapsed]))
''')


def _child(code: str, store: dict[str, object], tmp: Path) -> list[float]:
    env = {**fresh_env(tmp), "KITARU_HOME": str(tempdir()), "STORE": json.dumps(store)}
    res = subprocess.run([PY, "-c", code], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _start_moto() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([PY, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        url = next((line.strip() for line in proc.stdout if line.startswith("http")), "")  # type: ignore[union-attr]
    finally:
        timer.cancel()
    if not url.startswith("http"):
        raise RuntimeError("moto did not start")
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import boto3
    from gcs_helpers import admin_client, start_fake_gcs

    gcs_proc, gcs_url = start_fake_gcs()
    try:
        moto_proc, moto_url = _start_moto()
    except BaseException:
        gcs_proc.kill()
        gcs_proc.wait(timeout=10)
        raise
    try:
        bucket = f"bench-{uuid.uuid4().hex[:10]}"
        admin_client(gcs_url).create_bucket(bucket)
        boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        stores = {
            "local": {"flavor": "local"},
            "s3": {"flavor": "s3", "path": f"s3://{bucket}/kitaru", "endpoint_url": moto_url, "region": "us-east-1",
                   "aws_access_key_id": {"secret": "aws"}, "aws_secret_access_key": {"secret": "aws"}},
            "gcs": {"flavor": "gcs", "path": f"gs://{bucket}/kitaru", "endpoint_url": gcs_url, "anonymous": True},
        }
        tmp = tempdir()
        per: dict[str, list[float]] = {k: [] for k in stores}
        for _ in range(args.runs):  # interleaved, so load drifts hit every store alike
            for name, cfg in stores.items():
                per[name].append(_child(PER_CHECKPOINT, cfg, tmp)[0])
        ms = {k: median(v) for k, v in per.items()}
        ratio = ms["gcs"] / ms["s3"]
        rows = [report("per-checkpoint, small output, local store", ms["local"], "ms", "(reference)", True),
                report("per-checkpoint, small output, s3 on moto", ms["s3"], "ms", "(reference)", True),
                report("per-checkpoint, small output, gcs on fake-gcs-server", ms["gcs"], "ms", "<= 2x s3",
                       ratio <= 2, f"gcs/s3 = {ratio:.2f}x")]
        large = {k: [_child(LARGE, stores[k], tmp) for _ in range(max(1, args.runs // 2))] for k in ("s3", "gcs")}
        for name in ("gcs", "s3"):
            write = median([r[0] for r in large[name]])
            read = median([r[1] for r in large[name]])
            secs = median([r[2] for r in large[name]])
            target = "<= 64 MB" if name == "gcs" else "(reference)"
            rows.append(report(f"100 MB output, {name}: peak traced memory writing", write, "MB", target,
                               write <= 64, f"{secs:.2f} s for the run"))
            rows.append(report(f"100 MB output, {name}: peak traced memory streaming it back", read, "MB", target,
                               read <= 64))
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
    finally:
        for proc in (gcs_proc, moto_proc):
            if proc is moto_proc and proc.stdin:
                proc.stdin.close()
            else:
                proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
