"""`kitaru executions …`: list, inspect, follow logs, answer waits, replay, resume, retry, cancel."""

from typing import Annotated, Any

import typer

from kitaru.cli._base import Out, OutputFormat, OutputOpt, emit_json, parse_json
from kitaru.cli._input import input_command
from kitaru.client._models import ExecutionStatus

app = typer.Typer(help="Observe and act on executions: list, get, logs, input, replay, resume, retry, cancel.",
                  no_args_is_help=True, add_completion=False)

ExecId = Annotated[str, typer.Argument(help="Execution id (or a unique prefix of at least 6 characters).",
                                       show_default=False)]


Status = ExecutionStatus  # the client's enum; typer offers its values as choices


def _client() -> Any:
    from kitaru.client import KitaruClient

    return KitaruClient()


@app.command("list")
def list_executions(
    flow: Annotated[str | None, typer.Option("--flow", "-f", help="Only executions of this flow.")] = None,
    status: Annotated[Status | None, typer.Option("--status", "-s", help="Only executions with this status.",
                                                  case_sensitive=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Show at most this many.")] = None,
    page: Annotated[int, typer.Option("--page", min=1, help="Page number (starts at 1).")] = 1,
    size: Annotated[int, typer.Option("--size", min=1, help="Executions per page.")] = 50,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """List executions, newest first."""
    out = Out("executions list", output)
    items = _client().executions.list(flow=flow, status=status.value if status else None, limit=size, page=page)
    if limit is not None:
        items = items[:limit]
    from kitaru.cli._views import executions_table

    out.items(items, lambda: executions_table(items))


@app.command("get")
def get_execution(exec_id: ExecId, output: OutputOpt = OutputFormat.text) -> None:
    """Show one execution: status, failure, checkpoint timeline and pending waits."""
    out = Out("executions get", output)
    client = _client()
    execution = client.executions.get(exec_id)
    from kitaru.cli._views import execution_detail

    def human() -> None:
        execution_detail(execution)
        note = client.executions.continuation_note(execution.exec_id)
        if note:
            out.note(note)

    out.item(execution, human)


@app.command("logs")
def logs(
    exec_id: ExecId,
    checkpoint: Annotated[str | None, typer.Option("--checkpoint", "-c",
                                                   help="Only lines of this checkpoint (invocation id).")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream new lines until the execution ends.")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between polls with --follow.")] = 0.5,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Only the last N lines.")] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show an execution's captured logs; --follow streams them until it ends (JSON lines with -o json)."""
    out = Out("executions logs", output)
    client = _client()
    from kitaru.cli._views import log_line

    if follow:
        _follow(client, exec_id, checkpoint, interval, limit, out)
        return
    entries = _tail(client, exec_id, checkpoint, limit)

    def human() -> None:
        if not entries:
            out.note(f"No log lines for execution {exec_id}" + (f" checkpoint {checkpoint!r}." if checkpoint else "."))
        for entry in entries:
            log_line(entry, show_checkpoint=checkpoint is None)

    out.items(entries, human)


def _tail(client: Any, exec_id: str, checkpoint: str | None, limit: int | None) -> list[Any]:
    """All log lines (or the last `limit`), paging through the client."""
    from collections import deque

    kept: Any = deque(maxlen=limit)
    after = 0
    while True:
        batch = client.executions.logs(exec_id, checkpoint=checkpoint, after=after)
        kept.extend(batch)
        if len(batch) < 1000:
            return list(kept)
        after = batch[-1].id


def _follow(client: Any, exec_id: str, checkpoint: str | None, interval: float, limit: int | None, out: Out) -> None:
    from kitaru.cli._base import is_terminal
    from kitaru.cli._views import log_line, result_line

    execution = client.executions.get(exec_id)
    backlog = _tail(client, execution.exec_id, checkpoint, limit) if limit else []
    skip_until = backlog[-1].id if backlog else 0
    status_ctx: Any = None
    if not out.json and is_terminal():
        from kitaru.cli._render import console

        status_ctx = console().status(f"following {execution.exec_id} ({execution.flow_name}) until it ends…")
        status_ctx.__enter__()
    try:
        for entry in backlog:
            _emit_entry(entry, out, checkpoint, log_line)
        for entry in client.executions.follow_logs(execution.exec_id, checkpoint=checkpoint, interval=interval):
            if limit and entry.id <= skip_until:
                continue
            _emit_entry(entry, out, checkpoint, log_line)
    finally:
        if status_ctx is not None:
            status_ctx.__exit__(None, None, None)
    if not out.json:
        final = client.executions.get(execution.exec_id)
        result_line("Execution", final)


def _emit_entry(entry: Any, out: Out, checkpoint: str | None, log_line: Any) -> None:
    if out.json:
        emit_json(entry.to_dict(), indent=None)
    else:
        log_line(entry, show_checkpoint=checkpoint is None)


app.command("input")(input_command)


@app.command("replay")
def replay(
    exec_id: ExecId,
    from_: Annotated[str, typer.Option("--from", help="Checkpoint to re-run from (name, invocation id or call id).",
                                       show_default=False)],
    args: Annotated[str | None, typer.Option("--args", help="Flow inputs to override, as a JSON object.")] = None,
    overrides: Annotated[str | None, typer.Option(
        "--overrides", help='Recorded outputs to replace, as JSON: {"checkpoint.<selector>": value}.')] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Start a new execution that reuses outputs before --from and re-runs the rest."""
    out = Out("executions replay", output)
    inputs = parse_json(args, "--args", want_object=True) or {}
    override_map = parse_json(overrides, "--overrides", want_object=True)
    execution = _client().executions.replay(exec_id, from_=from_, overrides=override_map, **inputs)
    _done(out, "Replaying as", execution)


def _done(out: Out, verb: str, execution: Any) -> None:
    from kitaru.cli._views import result_line

    def human() -> None:
        note = _client().executions.continuation_note(execution.exec_id) if verb != "Replaying as" else None
        if note:
            result_line(f"{verb} requested (recorded) for", execution)
            out.note(note)
            return
        result_line(verb, execution)
        out.note(f"Follow it with `kitaru executions logs {execution.exec_id} --follow`.")

    out.item(execution, human)


@app.command("resume")
def resume(exec_id: ExecId, output: OutputOpt = OutputFormat.text) -> None:
    """Continue a waiting (answered) or failed execution in a new runner."""
    out = Out("executions resume", output)
    _done(out, "Resumed", _client().executions.resume(exec_id))


@app.command("retry")
def retry(exec_id: ExecId, output: OutputOpt = OutputFormat.text) -> None:
    """Continue a failed execution from its last completed checkpoint."""
    out = Out("executions retry", output)
    _done(out, "Retrying", _client().executions.retry(exec_id))


@app.command("cancel")
def cancel(exec_id: ExecId, output: OutputOpt = OutputFormat.text) -> None:
    """Cancel an execution (a running one stops at its next checkpoint boundary)."""
    out = Out("executions cancel", output)
    execution = _client().executions.cancel(exec_id)
    from kitaru.cli._views import result_line

    out.item(execution, lambda: result_line("Cancel requested for", execution))
