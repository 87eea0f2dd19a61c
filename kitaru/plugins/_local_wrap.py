"""Run a command and record its exit code: `python -m kitaru.plugins._local_wrap EXIT_FILE CMD...`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    """Run argv[1:], forward SIGTERM, write the exit code atomically to argv[0]."""
    exit_file, cmd = argv[0], argv[1:]
    proc = subprocess.Popen(cmd)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    code = proc.wait()
    tmp = f"{exit_file}.tmp"
    with open(tmp, "w") as f:
        f.write(str(code))
    os.replace(tmp, exit_file)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
