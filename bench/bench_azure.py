"""kitaru-azure speed (issue 13): per-checkpoint overhead of a small output on an `azure` stack (Azurite) against an
`s3` stack (moto) in the same run, and the peak memory of a 100 MB output.

Run: `python bench/bench_azure.py [--runs 5] [--n 100]` (needs kitaru-azure, kitaru-s3[test] and Azurite: see
scripts/test.sh, or AZURITE_BLOB). Both emulators run as child processes on loopback, so the measured process holds
only the client side. Results feed bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import ROOT, report, tempdir  # noqa: E402

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MB = 1 << 20
MOTO = """
import sys
from moto.server import ThreadedMotoServer
srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0); srv.start()
host, port = srv.get_host_and_port(); print(f"MOTO_URL=http://{host}:{port}", flush=True)
sys.stdin.read(); srv.stop()
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_azurite() -> tuple[subprocess.Popen[bytes], str]:
    binary = os.environ.get("AZURITE_BLOB") or str(ROOT / ".ci/.cache/azurite/node_modules/.bin/azurite-blob")
    port = _port()
    proc = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                             "--skipApiVersionCheck", "--disableTelemetry", "--silent"], cwd=tempdir(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/{ACCOUNT}"
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_moto() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("MOTO_URL="):
            return proc, line.strip().removeprefix("MOTO_URL=")
    raise RuntimeError("moto did not start")


def setup_stacks(azurite: str, moto: str) -> None:
    """Stacks `az` and `s3` with their keys as secrets (embedded mode: the process acts with the keys)."""
    import boto3
    from azure.storage.blob import BlobServiceClient

    import kitaru
    from kitaru.stacks import register_stack

    BlobServiceClient(azurite, credential={"account_name": ACCOUNT, "account_key": KEY}).create_container("bench")
    boto3.client("s3", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="bench")
    kitaru.create_secret("az-key", account_key=KEY)
    kitaru.create_secret("aws-keys", aws_access_key_id="testing", aws_secret_access_key="testing")
    register_stack("az.yaml", text=f"name: az\norchestrator: {{flavor: local}}\nartifact_store: {{flavor: azure,"
                                   f" path: az://bench/kitaru, account_url: {azurite},"
                                   " account_key: {secret: az-key}}\n")
    register_stack("s3.yaml", text=f"name: s3\norchestrator: {{flavor: local}}\nartifact_store: {{flavor: s3,"
                                   f" path: s3://bench/kitaru, endpoint_url: {moto}, region: us-east-1,"
                                   " aws_access_key_id: {secret: aws-keys}, aws_secret_access_key: {secret: aws-keys}}\n")


def per_checkpoint(stack: str, n: int, runs: int) -> float:
    """Median seconds per checkpoint of an n-checkpoint flow with small (unique) outputs on `stack`."""
    from kitaru import checkpoint, flow

    @checkpoint
    def step(i: int, salt: str) -> dict:
        return {"i": i, "salt": salt, "text": "x" * 200}

    @flow
    def many(count: int, salt: str) -> int:
        return sum(step(i, salt)["i"] for i in range(count))

    many.run(3, uuid.uuid4().hex, stack=stack).wait()  # warm: imports, clients, connections
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        many.run(n, uuid.uuid4().hex, stack=stack).wait()
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def large_output_peak(stack: str, size: int) -> tuple[float, float]:
    """(seconds, tracemalloc peak in MB beyond the value itself) for a checkpoint returning `size` bytes."""
    from kitaru import checkpoint, flow

    value = os.urandom(size)  # allocated before tracing: the peak is what persisting it costs

    @checkpoint
    def big() -> bytes:
        return value

    @flow
    def large() -> int:
        return len(big())

    tracemalloc.start()
    try:
        start = time.perf_counter()
        assert large.run(stack=stack).wait() == size
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return elapsed, peak / MB


def streamed_peak(size: int) -> tuple[float, float]:
    """Peak MB of writing and then reading a `size`-byte streamed blob through the azure store directly."""
    from kitaru.stacks import resolve_stack

    store = resolve_stack("az").artifact_store
    chunk = b"\x5a" * MB
    tracemalloc.start()
    try:
        store.write("bench/streamed", (chunk for _ in range(size // MB)))
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with store.open("bench/streamed") as f:
            while f.read(MB):
                pass
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return write_peak / MB, read_peak / MB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    os.environ["KITARU_HOME"] = str(tempdir() / "home")
    os.environ.pop("KITARU_SERVER_URL", None)
    azurite, az_url = start_azurite()
    moto, moto_url = start_moto()
    try:
        setup_stacks(az_url, moto_url)
        local = per_checkpoint("default", args.n, args.runs)
        results: dict[str, list[float]] = {"s3": [], "az": []}
        for _ in range(args.runs):  # interleaved, so both see the same machine load
            for stack in results:
                results[stack].append(per_checkpoint(stack, args.n, 1))
        s3, az = statistics.median(results["s3"]), statistics.median(results["az"])
        report("per checkpoint, small output, local store (reference)", local * 1000, "ms", "(info)", True)
        report("per checkpoint, small output, s3 on moto", s3 * 1000, "ms", "(info)", True)
        report("per checkpoint, small output, azure on Azurite", az * 1000, "ms", "<= 2x s3", az <= 2 * s3,
               f"ratio {az / s3:.2f}x")
        elapsed, peak = large_output_peak("az", 100 * MB)
        report("100 MB checkpoint output on azure: wall", elapsed, "s", "(info)", True)
        report("100 MB checkpoint output on azure: peak beyond the value", peak, "MB", "<= 64 MB", peak <= 64,
               "tracemalloc peak of the whole run")
        write_peak, read_peak = streamed_peak(100 * MB)
        report("100 MB streamed write / read through the store: peak", max(write_peak, read_peak), "MB", "<= 64 MB",
               max(write_peak, read_peak) <= 64, f"write {write_peak:.1f} MB, read {read_peak:.1f} MB")
    finally:
        azurite.terminate()
        moto.stdin.close()  # type: ignore[union-attr]
        azurite.wait(timeout=10)
        moto.wait(timeout=10)


if __name__ == "__main__":
    main()
