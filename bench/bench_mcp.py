"""MCP server speed: `kitaru-mcp` start → initialize + tools/list, and a 50-item kitaru_executions_list.

    .venv/bin/python bench/bench_mcp.py [--runs 5]

The stdio front answers initialize/tools/list from a snapshot recorded by the first start of this code
version (in $XDG_CACHE_HOME/kitaru, or ~/.cache/kitaru); one unmeasured start records it. Seeds 50 executions in a temporary Kitaru home, then for each run starts a fresh `kitaru-mcp` subprocess with
the SDK's stdio client and times (a) process start until the tools/list answer, (b) one
kitaru_executions_list(limit=50) call right after. Prints the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

FLOW = "import kitaru\n\n@kitaru.flow\ndef noop(i: int) -> int:\n    return i\n"


def seed(home: Path, project: Path) -> None:
    """50 completed executions of a trivial flow."""
    os.environ["KITARU_HOME"] = str(home)
    (project / "benchflow.py").write_text(FLOW)
    sys.path.insert(0, str(project))
    import benchflow  # type: ignore[import-not-found]

    for i in range(50):
        benchflow.noop.run(i=i)


async def one_run(params: StdioServerParameters) -> tuple[float, float, float, float]:
    t0 = time.perf_counter()
    async with Client(params) as client:
        tools = await client.list_tools()
        t_ready = time.perf_counter() - t0
        assert len(tools.tools) == 25
        t1 = time.perf_counter()
        page = await client.call_tool("kitaru_executions_list", {"limit": 50})
        t_list = time.perf_counter() - t1
        t_total = time.perf_counter() - t0
        assert not page.is_error and len(page.structured_content["items"]) == 50
        t2 = time.perf_counter()
        await client.call_tool("kitaru_executions_list", {"limit": 50})
        t_warm = time.perf_counter() - t2
    return t_ready, t_list, t_warm, t_total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, project = Path(tmp) / "home", Path(tmp) / "project"
        project.mkdir()
        seed(home, project)
        params = StdioServerParameters(command=str(Path(sys.executable).with_name("kitaru-mcp")),
                                       env={**os.environ, "KITARU_HOME": str(home)}, cwd=str(project))
        anyio.run(one_run, params)  # records the snapshot if this code version has none yet
        results = [anyio.run(one_run, params) for _ in range(ns.runs)]
    ready = statistics.median(r[0] for r in results)
    listing = statistics.median(r[1] for r in results)
    print(f"start -> initialize + tools/list: median {ready * 1000:.0f} ms ({ns.runs} runs;"
          f" min {min(r[0] for r in results) * 1000:.0f} ms)")
    print(f"kitaru_executions_list(limit=50): median {listing * 1000:.1f} ms"
          f" (min {min(r[1] for r in results) * 1000:.1f} ms)")
    warm = statistics.median(r[2] for r in results)
    print(f"start -> first list answered: median {statistics.median(r[3] for r in results) * 1000:.0f} ms")
    print(f"second kitaru_executions_list(limit=50): median {warm * 1000:.1f} ms")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
