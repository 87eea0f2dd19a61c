"""Durable memory cost on the embedded store: `import kitaru` with the lazy `memory` name, and per-call set/get
outside a flow and journaled inside a flow body. `python bench/bench_memory.py --runs 5`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

from bench._util import ROOT, fresh_env, median, tempdir

_PROBE = textwrap.dedent('''
    import json, sys, time
    import kitaru
    n = int(sys.argv[1])
    kitaru.memory.set("warm", 0)
    t = time.perf_counter()
    for i in range(n):
        kitaru.memory.set(f"k{i % 10}", {"i": i, "note": "small"})
    set_ms = (time.perf_counter() - t) / n * 1000
    t = time.perf_counter()
    for i in range(n):
        kitaru.memory.get(f"k{i % 10}")
    get_ms = (time.perf_counter() - t) / n * 1000

    @kitaru.flow
    def agent(n: int) -> int:
        for i in range(n):
            kitaru.memory.set(f"f{i % 10}", i)
            kitaru.memory.get(f"f{i % 10}")
        return n

    t = time.perf_counter()
    agent.run(n).wait()
    flow_ms = (time.perf_counter() - t) / (2 * n) * 1000
    print(json.dumps({"set_ms": set_ms, "get_ms": get_ms, "flow_op_ms": flow_ms}))
''')


def _import_seconds(env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import kitaru; kitaru.__all__"], env=env,
                         capture_output=True, text=True, check=True, timeout=60)
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == "kitaru":
            return int(parts[1]) / 1e6
    raise RuntimeError("no kitaru line in -X importtime output")


def main() -> None:
    """Print the medians as one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"import_s": [], "set_ms": [], "get_ms": [], "flow_op_ms": []}
    for _ in range(args.runs):
        tmp = tempdir()
        env = fresh_env(tmp)
        env["KITARU_HOME"] = str(tmp / "kitaru-home")
        results["import_s"].append(_import_seconds(env))
        probe = tmp / "probe.py"
        probe.write_text(_PROBE)
        out = subprocess.run([sys.executable, str(probe), str(args.n)], env=env, cwd=tmp, capture_output=True,
                             text=True, check=True, timeout=300)
        for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items():
            results[k].append(v)
    print(json.dumps({k: round(median(v), 4) for k, v in results.items()} | {"runs": args.runs, "n": args.n,
                                                                                "root": str(ROOT)}))


if __name__ == "__main__":
    main()
