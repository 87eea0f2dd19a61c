"""`kitaru executions logs --follow`: stream lines until the execution ends (JSON events with -o json)."""

from __future__ import annotations

import time
from typing import Any

from kitaru.cli._base import Out, emit_json


def _event(out: Out, event: str, item: dict[str, Any]) -> None:
    """One JSON line of the follow stream, as Kitaru 0.4 writes it: `{command, event, item}`."""
    emit_json({"command": out.command, "event": event, "item": item})


def follow_logs(client: Any, exec_id: str, *, checkpoint: str | None, source: str, limit: int | None,
                interval: float, out: Out, grouped: bool, verbosity: int) -> int:
    """Print lines as they arrive, through waits, until the execution ends; returns the exit code.

    0 when it completed, 1 when it failed or was cancelled. `limit` caps the lines printed.
    """
    from kitaru.cli._serialize import log_entry
    from kitaru.cli._views import log_lines

    execution = client.executions.get(exec_id)
    after, printed, last_wait, seen_group = 0, 0, None, [None]
    while True:
        for entry in client.executions.follow_logs(execution.exec_id, checkpoint=checkpoint, source=source,
                                                   interval=interval, after=after):
            after = max(after, entry.id)
            if limit is not None and printed >= limit:
                continue
            printed += 1
            if out.json:
                _event(out, "log", log_entry(entry))
            else:
                log_lines([entry], grouped=grouped, verbosity=verbosity, current=seen_group)
        current = client.executions.get(execution.exec_id)
        if current.status.is_finished:
            return _terminal(out, current)
        if current.status.value == "waiting":
            wait = current.pending_wait
            name = wait.name if wait else None
            if name != last_wait:
                last_wait = name
                if out.json:
                    _event(out, "waiting", {"wait_name": name, "wait_id": wait.wait_id if wait else None,
                                            "question": wait.question if wait else None})
                else:
                    print(f"[Execution is waiting for input on: {name or 'an answered wait'}]", flush=True)
            time.sleep(interval)


def _terminal(out: Out, execution: Any) -> int:
    status = execution.status.value
    if status == "completed":
        message = "Execution completed successfully"
    elif status == "failed":
        message = execution.failure.message if execution.failure else (execution.status_reason or "execution failed")
    else:
        message = "Execution cancelled"
    if out.json:
        item: dict[str, Any] = {"status": status, "message": message}
        if status == "failed":
            item["recovery_command"] = f"kitaru executions retry {execution.exec_id}"
        _event(out, "terminal", item)
    elif status == "completed":
        print(f"[{message}]", flush=True)
    elif status == "failed":
        print(f"[Execution failed: {message}]", flush=True)
        print(f"Retry it with `kitaru executions retry {execution.exec_id}`.", flush=True)
    else:
        print(f"[{message}]", flush=True)
    return 0 if status == "completed" else 1
