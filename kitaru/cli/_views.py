"""Human views of client models: execution lists, execution detail with its timeline, logs, waits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kitaru.cli._base import is_terminal
from kitaru.cli._render import Markup, Table, echo, fields, fmt_duration, fmt_size, fmt_time, status, styled

if TYPE_CHECKING:
    from kitaru.client import Execution, LogEntry, PendingWait

_BAR = 24


def executions_table(items: list[Execution]) -> None:
    """The `executions list` table."""
    if not items:
        echo("No executions match. Start one with `kitaru run file.py:flow`.")
        return
    table = Table("ID", "FLOW", "STATUS", "STACK", "CREATED", "DURATION", "RUNS")
    for e in items:
        table.add(e.exec_id, e.flow_name, status(e.status), e.stack, fmt_time(e.created_at),
                  fmt_duration(e.duration_s), e.runs)
    table.print()


def _failure_text(e: Execution) -> str | None:
    f = e.failure
    if f is None:
        return None
    where = f" in {f.checkpoint!r}" if f.checkpoint else ""
    kind = f"{f.type.rsplit('.', 1)[-1]}: " if f.type else ""
    return f"{f.origin}{where}: {kind}{f.message or f.reason}"


def _bar(e: Execution, start: Any, end: Any) -> str:
    """A proportional timeline bar for one checkpoint call (terminal only)."""
    if e.created_at is None or start is None:
        return ""
    total = max(e.duration_s or 0.0, 1e-9)
    left = int(_BAR * max(0.0, (start - e.created_at).total_seconds()) / total)
    span = ((end - start).total_seconds() if end is not None else total) / total
    width = max(1, int(round(_BAR * span)))
    left = min(left, _BAR - 1)
    width = min(width, _BAR - left)
    return Markup(f"[dim]{'·' * left}[/][bold]{'█' * width}[/][dim]{'·' * (_BAR - left - width)}[/]")


def execution_detail(e: Execution) -> None:
    """The `executions get` view: summary, checkpoint timeline, pending waits."""
    echo(styled("Execution ", "bold"), styled(e.exec_id, "bold"), "  ", e.flow_name, "  ", status(e.status))
    fields([
        ("stack", e.stack),
        ("owner", getattr(e, "owner", None)),
        ("created", fmt_time(e.created_at)),
        ("ended", fmt_time(e.ended_at) if e.ended_at else None),
        ("duration", fmt_duration(e.duration_s)),
        ("runs", str(e.runs)),
        ("runner", f"{e.orchestrator} job {e.job_id}" if e.job_id else None),
        ("replay of", f"{e.original_exec_id} from {e.replay_from}" if e.original_exec_id else None),
        ("failure", styled(_failure_text(e) or "", "red") if e.failure else None),
        ("metadata", json.dumps(e.metadata, sort_keys=True) if e.metadata else None),
    ])
    if e.checkpoints:
        terminal = is_terminal()
        columns = ["#", "CHECKPOINT", "TYPE", "STATUS", "ATTEMPTS", "DURATION", "OUTPUT"]
        table = Table(*columns, *(["TIMELINE"] if terminal else []), title="Checkpoints")
        for c in e.checkpoints:
            reused = f"reused from {c.reused_from[:12]}" if c.reused_from else None
            output = fmt_size((c.output or {}).get("size")) if c.output else "-"
            row = [c.seq + 1, c.invocation_id, c.type, status(c.status), len(c.attempts) or 1,
                   fmt_duration(c.duration_s), reused or output]
            table.add(*row, *([_bar(e, c.started_at, c.ended_at)] if terminal else []))
        echo()
        table.print()
    if e.pending_waits:
        echo()
        waits_view(e.pending_waits)
    if e.status.value == "failed":
        echo()
        echo(styled("Next:", "bold"), f" fix the cause, then `kitaru executions retry {e.exec_id}`")


def expects(w: PendingWait) -> str:
    """What a wait's answer must look like, in words."""
    if not w.schema:
        return "any JSON value"
    if "type" in w.schema and len(w.schema) <= 2:
        return str(w.schema["type"])
    return json.dumps(w.schema, sort_keys=True)


def waits_view(waits: list[PendingWait]) -> None:
    """Pending waits with the command that answers each."""
    table = Table("EXEC ID", "WAIT", "QUESTION", "EXPECTS", "SINCE", title="Pending waits")
    for w in waits:
        table.add(w.exec_id, w.wait_id, w.question or "-", expects(w), fmt_time(w.created_at))
    table.print()
    first = waits[0]
    echo(styled("Answer with:", "bold"), f" kitaru executions input {first.exec_id} --value JSON",
         "  (or `kitaru executions input -i`)")


def log_text(entry: LogEntry, verbosity: int) -> str:
    """One log line as Kitaru 0.4 prints it: the message; -v adds time and level; -vv the checkpoint."""
    if verbosity <= 0:
        return entry.message
    when = entry.time.strftime("%Y-%m-%d %H:%M:%S") if entry.time else "-"
    level = (entry.level or "INFO").upper()
    if verbosity == 1:
        return f"{when} {level:<5} {entry.message}"
    return f"{when} {level:<5} [{entry.module or entry.checkpoint_name or 'flow'}] {entry.message}"


def log_lines(entries: list[LogEntry], *, grouped: bool = False, verbosity: int = 0,
              current: list[Any] | None = None) -> None:
    """Log lines in order; `grouped` writes a header whenever the checkpoint changes."""
    current = current if current is not None else [None]
    for entry in entries:
        if grouped:
            group = entry.checkpoint_name or "runner"
            if group != current[0]:
                if current[0] is not None:
                    echo()
                echo(styled(f"── checkpoint: {group} " + "─" * 30, "bold"))
                current[0] = group
        style = "red" if entry.stream == "stderr" or (entry.level or "") in ("ERROR", "CRITICAL") else None
        text = log_text(entry, verbosity)
        echo(styled(text, style) if style else text)


def log_line(entry: LogEntry, *, show_checkpoint: bool = True) -> None:
    """One log line with its time and checkpoint (kept for callers that want the detailed form)."""
    log_lines([entry], verbosity=2 if show_checkpoint else 1)


def result_line(verb: str, e: Execution) -> None:
    """One line after an action: `<verb> <id> (<flow>): <status>` plus a hint."""
    echo(f"{verb} ", styled(e.exec_id, "bold"), f" ({e.flow_name}): ", status(e.status))
