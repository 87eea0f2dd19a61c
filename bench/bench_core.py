"""Core speed benchmarks (issue 2): import, first run, per-checkpoint overhead, large outputs,
replay and resume. Run: `python bench/bench_core.py [--runs 5]`; results feed bench/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import PY, fresh_env, median, report, tempdir, time_command  # noqa: E402

ONE_STEP = textwrap.dedent('''
    from kitaru import checkpoint, flow

    @checkpoint
    def step(x: int) -> dict:
        return {"x": x}

    @flow
    def one(x: int) -> dict:
        return step(x)

    if __name__ == "__main__":
        assert one.run(1).wait() == {"x": 1}
''')


def bench_import(runs: int) -> list[dict[str, str]]:
    tmp = tempdir()
    env = fresh_env(tmp)
    wall = [time_command([PY, "-c", "import kitaru"], cwd=tmp, env=env) for _ in range(runs)]
    base = [time_command([PY, "-c", "pass"], cwd=tmp, env=env) for _ in range(runs)]
    inproc = []
    for _ in range(runs):
        out = subprocess.run([PY, "-X", "importtime", "-c", "import kitaru"], cwd=tmp, env=env, capture_output=True,
                             text=True, check=True).stderr.strip().splitlines()[-1]
        inproc.append(int(out.split("|")[1]) / 1e6)
    return [
        report("import kitaru (in-process, -X importtime)", median(inproc), "s", "<= 0.15 s", median(inproc) <= 0.15),
        report("python -c 'import kitaru' wall (interpreter incl.)", median(wall), "s", "(info)", True,
               f"bare interpreter {median(base):.3f} s"),
    ]


def bench_first_run(runs: int) -> list[dict[str, str]]:
    times = []
    for _ in range(runs):
        tmp = tempdir()
        work = tmp / "empty"
        work.mkdir()
        (tmp / "flow.py").write_text(ONE_STEP)
        times.append(time_command([PY, str(tmp / "flow.py")], cwd=work, env=fresh_env(tmp)))
    return [report("first one-checkpoint run, empty dir, whole process", median(times), "s", "<= 0.5 s",
                   median(times) <= 0.5)]


def _in_process(code: str, runs: int, tmp: Path) -> list[float]:
    """Run `code` (which prints a JSON list of floats) in a fresh interpreter `runs` times."""
    out = []
    for _ in range(runs):
        home = tempdir()
        env = {**fresh_env(tmp), "KITARU_HOME": str(home)}
        res = subprocess.run([PY, "-c", code], cwd=tmp, env=env, capture_output=True, text=True, check=True,
                             timeout=300)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return out


PER_CHECKPOINT = textwrap.dedent('''
    import json, time, sys
    from kitaru import checkpoint, flow

    @checkpoint
    def step(i: int) -> dict:
        return {"i": i, "status": "ok", "items": [1, 2, 3]}

    @flow
    def many(n: int) -> int:
        for i in range(n):
            step(i)
        return n

    many.run(0).wait()  # warm: store created, modules imported

    def timed(n, reps):
        out = []
        for _ in range(reps):
            t = time.perf_counter(); many.run(n).wait(); out.append(time.perf_counter() - t)
        return sorted(out)[len(out) // 2]

    def primitives(n=2000):
        """The floor measured in the same run: JSON + sha256 + one WAL commit + one tmp-file write/rename."""
        import hashlib, os, sqlite3, tempfile
        d = tempfile.mkdtemp(dir=os.environ["KITARU_HOME"])
        db = sqlite3.connect(os.path.join(d, "p.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
        t = time.perf_counter()
        for i in range(n):
            data = json.dumps({"i": i, "status": "ok", "items": [1, 2, 3]}).encode()
            h = hashlib.sha256(data).hexdigest()
            with open(os.path.join(d, h + ".tmp"), "xb") as f:
                f.write(data)
            os.replace(os.path.join(d, h + ".tmp"), os.path.join(d, h))
            db.execute("INSERT INTO t VALUES (?, ?)", (h, data.decode()))
        return (time.perf_counter() - t) / n

    base = timed(0, 40)
    n10 = (timed(10, 40) - base) / 10
    n1000 = (timed(1000, 3) - base) / 1000
    print(json.dumps([n10 * 1000, n1000 * 1000, primitives() * 1000]))
''')


def bench_per_checkpoint(runs: int) -> list[dict[str, str]]:
    tmp = tempdir()
    results = _in_process(PER_CHECKPOINT, runs, tmp)
    n10 = median([r[0] for r in results])
    n1000 = median([r[1] for r in results])
    floor = median([r[2] for r in results])
    ratio = n1000 / n10
    return [
        report("per-checkpoint overhead, N=10 (small dict)", n10, "ms", "<= 0.5 ms", n10 <= 0.5),
        report("per-checkpoint overhead, N=1000 (small dict)", n1000, "ms", "<= 0.5 ms", n1000 <= 0.5),
        report("flatness: N=1000 / N=10 per checkpoint", ratio, "x", "<= 1.3x", ratio <= 1.3),
        report("same run: raw json+sha256+file+commit floor", floor, "ms", "(info)", True,
               f"overhead/floor = {n1000 / floor:.1f}x"),
    ]


LARGE = textwrap.dedent('''
    import json, os, time, tracemalloc
    from kitaru import checkpoint, flow
    SIZE = 10 * 1024 * 1024
    payload = os.urandom(SIZE)

    @checkpoint(cache=False)  # the second run must persist the output again, not reuse the first run's
    def big() -> bytes:
        return payload

    @checkpoint(cache=False)
    def small() -> int:
        return 1

    @flow
    def f() -> int:
        small()
        t = time.perf_counter(); big(); elapsed = time.perf_counter() - t
        print(json.dumps([elapsed]), file=open(os.environ["OUT"], "w"))
        return 1

    f.run().wait()
    tracemalloc.start()
    f.run().wait()
    _, peak = tracemalloc.get_traced_memory()
    print(json.dumps([json.load(open(os.environ["OUT"]))[0], peak / SIZE]))
''')


def bench_large_output(runs: int) -> list[dict[str, str]]:
    tmp = tempdir()
    os.environ["OUT"] = str(tmp / "out.json")
    results = _in_process(LARGE, runs, tmp)
    t = median([r[0] for r in results]) * 1000
    mem = median([r[1] for r in results])
    return [
        report("10 MB checkpoint output (serialize+hash+write+commit)", t, "ms", "<= 50 ms", t <= 50),
        report("peak memory while persisting it / output size", mem, "x", "<= 2.5x", mem <= 2.5,
               "tracemalloc peak of a whole run"),
    ]


REPLAY = textwrap.dedent('''
    import json, time
    from kitaru import checkpoint, flow

    @checkpoint
    def step(i: int) -> dict:
        return {"i": i, "text": "x" * 200}

    @flow
    def fifty() -> int:
        return sum(step(i)["i"] for i in range(50))

    h = fifty.run(); h.wait()
    fifty.replay(h.exec_id, from_="step_41").wait()  # warm
    t = time.perf_counter(); r = fifty.replay(h.exec_id, from_="step_41"); r.wait()
    print(json.dumps([time.perf_counter() - t]))
''')


def bench_replay(runs: int) -> list[dict[str, str]]:
    results = _in_process(REPLAY, runs, tempdir())
    t = median([r[0] for r in results])
    return [report("replay finished 50-checkpoint execution from #41", t, "s", "<= 0.1 s", t <= 0.1)]


RESUME_FLOW = textwrap.dedent('''
    import os, time
    from kitaru import checkpoint, flow

    @checkpoint
    def step(i: int) -> int:
        if i == 30 and os.environ.get("HANG"):
            time.sleep(60)
        with open(os.environ["MARK"], "a") as f:
            f.write(f"{i} {time.time()}\\n")
        return i

    @flow
    def forty() -> int:
        return sum(step(i) for i in range(40))

    if __name__ == "__main__":
        forty.run()
''')


def bench_resume(runs: int) -> list[dict[str, str]]:
    overheads, bare = [], []
    for _ in range(runs):
        tmp = tempdir()
        (tmp / "resume_flow.py").write_text(RESUME_FLOW)
        mark = tmp / "mark.txt"
        env = {**fresh_env(tmp), "KITARU_HOME": str(tmp / "kh"), "MARK": str(mark), "KITARU_LEASE_TTL": "0.5"}
        proc = subprocess.Popen([PY, str(tmp / "resume_flow.py")], cwd=tmp, env={**env, "HANG": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not mark.exists() or len(mark.read_text().split("\n")) < 31):
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.6)  # lease expires
        mark.write_text("")
        code = "from kitaru.client import KitaruClient as C; c=C(); e=c.executions.latest(); print(e.exec_id)"
        exec_id = subprocess.run([PY, "-c", code], cwd=tmp, env=env, capture_output=True, text=True,
                                 check=True).stdout.strip()
        start = time.time()
        subprocess.run([PY, "-m", "kitaru.runtime", exec_id], cwd=tmp, env=env, check=True, timeout=60,
                       stderr=subprocess.DEVNULL)
        first = float(mark.read_text().split("\n")[0].split()[1])
        overheads.append(first - start)
        t0 = time.time()
        subprocess.run([PY, "-c", "pass"], cwd=tmp, env=env, check=True)
        bare.append(time.time() - t0)
    t = median(overheads)
    return [report("resume after SIGKILL: spawn → user code runs again", t, "s", "<= 0.3 s", t <= 0.3,
                   f"30 completed checkpoints replayed; bare interpreter {median(bare):.3f} s")]


BENCHES = {"import": bench_import, "first_run": bench_first_run, "per_checkpoint": bench_per_checkpoint,
           "large_output": bench_large_output, "replay": bench_replay, "resume": bench_resume}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=list(BENCHES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for name in args.only:
        rows += BENCHES[name](args.runs)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
