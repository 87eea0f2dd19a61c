"""Remote-execution benchmarks (issue 11): packaging the project's code for remote runners.

Run: `python bench/bench_dispatch.py [--runs 7]`; results feed bench/RESULTS.md. Targets: packaging an
unchanged 1,000-file project <= 0.3 s (nothing uploaded); a changed one uploads only the new archive.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import ROOT, median, report, tempdir  # noqa: E402

sys.path.insert(0, str(ROOT))
from kitaru.artifacts import LocalArtifactStore  # noqa: E402
from kitaru.runtime._code import package_code  # noqa: E402


class CountingStore(LocalArtifactStore):
    """The local store, counting uploads."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.uploads = 0

    def write(self, key: str, data: Any) -> None:
        self.uploads += 1
        super().write(key, data)


def make_project(root: Path, files: int = 1000) -> dict[str, Any]:
    """A project of `files` small Python modules in 20 packages, with a flow file at the top."""
    (root / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    for i in range(files - 3):
        pkg = root / f"pkg{i % 20}"
        pkg.mkdir(exist_ok=True)
        (pkg / f"mod{i}.py").write_text(f"VALUE = {i}\n" + "# filler\n" * 20)
    (root / "flows.py").write_text("from kitaru import flow\n")
    return {"module": None, "file": str(root / "flows.py"), "qualname": "f", "importable": True}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = tempdir()
    source = make_project(tmp / "project")
    store = CountingStore(tmp / "store")
    cache = tmp / "cache"
    start = time.perf_counter()
    package_code(source, store, cache_dir=cache)
    first = time.perf_counter() - start
    unchanged = []
    for _ in range(args.runs):
        start = time.perf_counter()
        package_code(source, store, cache_dir=cache)
        unchanged.append(time.perf_counter() - start)
    uploads_unchanged = store.uploads
    (tmp / "project" / "pkg0" / "mod0.py").write_text("VALUE = 'changed'\n")
    start = time.perf_counter()
    package_code(source, store, cache_dir=cache)
    changed = time.perf_counter() - start
    report("package a new 1,000-file project (pack + upload)", first, "s", "(info)", True)
    report("package an unchanged 1,000-file project", median(unchanged), "s", "<= 0.3 s",
           median(unchanged) <= 0.3 and uploads_unchanged == 1, f"uploads after {args.runs} re-runs: {uploads_unchanged}")
    report("package after one file changed", changed, "s", "1 new upload", store.uploads == 2,
           f"uploads: {store.uploads}")


if __name__ == "__main__":
    main()
