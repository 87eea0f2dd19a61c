"""`python -m kitaru.runtime EXEC_ID`: continue one execution in this process."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the execution named on the command line; exit 0 unless the runner itself failed.

    `EXEC_ID --checkpoint INV` runs one isolated checkpoint call of it instead (a job the runner submitted);
    it exits 1 when the call failed (its outcome is recorded for the runner either way).
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[1] == "--checkpoint":
        return _checkpoint_job(args[0], args[2])
    if len(args) != 1:
        print("usage: python -m kitaru.runtime EXEC_ID [--checkpoint INVOCATION_ID]", file=sys.stderr)
        return 2
    from kitaru.errors import KitaruError
    from kitaru.runtime._launch import continue_here

    try:
        status = continue_here(args[0], os.environ.pop("KITARU_RUNNER_OWNER", None))
    except KitaruError as exc:
        print(f"kitaru runner: {exc}", file=sys.stderr)
        return 1
    if status == "lost":
        print(f"kitaru runner: execution {args[0]}: this runner lost its lease (it expired or another runner took"
              " over); it stopped without recording more", file=sys.stderr)
        return 0
    print(f"kitaru runner: execution {args[0]} is {status}", file=sys.stderr)
    return 0


def _checkpoint_job(exec_id: str, inv: str) -> int:
    from kitaru.errors import KitaruError
    from kitaru.runtime._isolated import run_checkpoint_job

    try:
        return run_checkpoint_job(exec_id, inv)
    except KitaruError as exc:
        print(f"kitaru checkpoint job: execution {exec_id}, checkpoint {inv}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
