"""Same-run A/B of the server's cost per checkpoint between checkouts (this machine is noisy: only ratios
measured in one run mean something).

Each variant is a checkout (e.g. `git worktree add /tmp/base COMMIT`) whose server runs on its own fresh
PostgreSQL database; one runtime per variant runs N new-input checkpoints, round-robin for several rounds, and
the medians of the server's CPU per checkpoint and of the checkpoint latency are printed per variant.
A variant `LABEL=ROOT:nocache` runs its checkpoints with `cache=False`.

Run: `python bench/bench_server_ab.py --steps 300 --rounds 3 base=/tmp/base now=.`
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_server as server_bench  # noqa: E402
from _util import tempdir  # noqa: E402


def main() -> None:
    """Start one server per variant, run the rounds, print one line per variant."""
    import psycopg

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("variants", nargs="+", help="LABEL=ROOT[:nocache]")
    args = parser.parse_args()
    admin = psycopg.connect(server_bench.PG_ADMIN, autocommit=True)
    base_flow, tmp, servers = server_bench.FLOW, tempdir(), {}
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        for variant in args.variants:
            label, spec = variant.split("=", 1)
            root, _, mode = spec.partition(":")
            name = f"kitaru_ab_{uuid.uuid4().hex[:8]}"
            admin.execute(f'CREATE DATABASE "{name}"')
            url = server_bench.PG_ADMIN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{name}"
            server_bench.ROOT = Path(root).resolve()
            proc, server_url = server_bench._start_server(url, tmp / label / "home", 1)
            servers[label] = (proc, server_url, name, Path(root).resolve(), mode)
        for round_ in range(args.rounds):
            for label, (proc, server_url, _, root, mode) in servers.items():
                server_bench.ROOT = root
                server_bench.FLOW = base_flow.replace("@checkpoint\n", "@checkpoint(cache=False)\n") \
                    if mode == "nocache" else base_flow
                lat, cpu = server_bench._one_runtime(server_url, proc.pid, tmp / f"{label}-{round_}", args.steps)
                results.setdefault(label, []).append((cpu, statistics.median(lat)))
        for label, runs in results.items():
            print(f"{label:14s} server CPU {statistics.median(r[0] for r in runs):.3f} ms/checkpoint, latency"
                  f" {statistics.median(r[1] for r in runs):.2f} ms (rounds: {[round(r[0], 2) for r in runs]})")
    finally:
        for proc, _, name, _, _ in servers.values():
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
