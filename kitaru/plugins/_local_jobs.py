"""The `local` orchestrator: each job is a detached process group with its own job directory."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.plugins._protocols import JobSpec, JobStatus

_children: dict[str, subprocess.Popen[Any]] = {}
_RECORD_EXIT = 'trap "" HUP; "$@"; code=$?; printf %s "$code" > "$0.tmp" && mv -f "$0.tmp" "$0"; exit "$code"'
"""A shell (not a second interpreter: dispatch stays fast) runs the command and records its exit code atomically."""


class LocalOrchestrator:
    """Runs jobs as local processes; status survives the submitting process (files in `jobs_dir`)."""

    flavor = "local"
    remote = False

    def __init__(self, jobs_dir: Path) -> None:
        self.jobs_dir = Path(jobs_dir)

    def _dir(self, job_id: str) -> Path:
        d = self.jobs_dir / job_id
        if "/" in job_id or job_id.startswith(".") or not (d / "pid").is_file():
            raise KitaruUsageError(f"no local job {job_id!r} in {self.jobs_dir}")
        return d

    def submit(self, job: JobSpec) -> str:
        """Start the job's command detached (own session); return its job id."""
        job_id = f"{job.exec_id}-{uuid.uuid4().hex[:8]}"
        d = self.jobs_dir / job_id
        d.mkdir(parents=True)
        env = {**os.environ, **job.env}
        with open(d / "log", "ab") as out:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", _RECORD_EXIT, str(d / "exit"), *job.command],
                cwd=job.cwd if job.cwd and os.path.isdir(job.cwd) else None, env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
            )
        (d / "pid").write_text(str(proc.pid))
        _children[job_id] = proc
        return job_id

    def status(self, job_id: str) -> JobStatus:
        """pending/running/succeeded/failed/cancelled, from the job directory."""
        d = self._dir(job_id)
        child = _children.get(job_id)
        if child is not None:
            child.poll()  # reap a finished child of this process
        if (d / "cancelled").exists():
            return JobStatus("cancelled", "cancelled by request")
        exit_file = d / "exit"
        if exit_file.is_file() and exit_file.read_text().strip():
            code = int(exit_file.read_text().strip())
            return JobStatus("succeeded" if code == 0 else "failed", f"exit code {code}", code)
        if _alive(int((d / "pid").read_text()), child):
            return JobStatus("running")
        return JobStatus("failed", "the job process died without reporting an exit code (killed?)")

    def cancel(self, job_id: str) -> None:
        """Stop the job's process group (SIGTERM); a finished job is left as it is."""
        d = self._dir(job_id)
        if self.status(job_id).done:
            return
        (d / "cancelled").touch()
        try:
            os.killpg(int((d / "pid").read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass
        child = _children.get(job_id)
        if child is not None:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)

    def logs(self, job_id: str) -> Iterator[str]:
        """The job's combined stdout/stderr lines so far."""
        with open(self._dir(job_id) / "log", encoding="utf-8", errors="replace") as f:
            yield from (line.rstrip("\n") for line in f)


def _alive(pid: int, child: subprocess.Popen[Any] | None) -> bool:
    if child is not None:
        return child.returncode is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
