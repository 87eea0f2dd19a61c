"""`kitaru executions …`: list, inspect, follow logs, answer waits, replay, resume, retry, cancel."""

from typing import Annotated, Any

import typer

from kitaru._status import ExecutionStatus
from kitaru.cli._base import Out, OutputFormat, OutputOpt, parse_json
from kitaru.cli._input import input_command

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
    if limit is not None and page != 1:
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError("--limit cannot be combined with --page; use --limit N or --page P --size N")
    client = _client().executions
    found = client.list(flow=flow, status=status, limit=limit) if limit is not None else \
        client.list(flow=flow, status=status, limit=size, page=page)
    from kitaru.cli._serialize import execution_summary
    from kitaru.cli._views import executions_table

    out.items([execution_summary(e) for e in found] if out.json else found, lambda: executions_table(found))


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

    out.item(_full(execution) if out.json else execution, human)


def _full(execution: Any) -> dict[str, Any]:
    from kitaru.cli._serialize import execution as serialize

    return serialize(execution)


@app.command("logs")
def logs(
    exec_id: ExecId,
    checkpoint: Annotated[str | None, typer.Option(
        "--checkpoint", "-c", help="Only lines of this checkpoint (function name or invocation id).")] = None,
    source: Annotated[str, typer.Option(
        "--source", help='"step" (lines written inside checkpoints), "runner" (flow body, runner, and what the'
        ' orchestrator reported before the runtime started: scheduling, image pulls), "all", or "orchestrator".'
    )] = "step",
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1,
                                              help="Maximum total log entries to return (the first ones).")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream new lines until the execution ends.")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.01, help="Seconds between polls with --follow.")] = 0.5,
    grouped: Annotated[bool, typer.Option("--grouped", help="Group lines by checkpoint under headers.")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="-v adds time and level, -vv also the checkpoint.")] = 0,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show an execution's captured logs; --follow streams them until it ends (JSON lines with -o json)."""
    from kitaru.errors import KitaruUsageError

    out = Out("executions logs", output)
    if grouped and out.json:
        raise KitaruUsageError("--grouped cannot be combined with --output json")
    client = _client()
    if follow:
        from kitaru.cli._follow import follow_logs

        code = follow_logs(client, exec_id, checkpoint=checkpoint, source=source, limit=limit, interval=interval,
                           out=out, grouped=grouped, verbosity=min(verbose, 2))
        raise typer.Exit(code)
    entries = client.executions.logs(exec_id, checkpoint=checkpoint, source=source, limit=limit)
    from kitaru.cli._serialize import log_entry
    from kitaru.cli._views import log_lines

    def human() -> None:
        if not entries:
            out.note(f"No log entries found for execution {exec_id}" + (
                f" checkpoint {checkpoint!r}." if checkpoint else ".") + (
                " Lines written outside checkpoints, and the orchestrator's (scheduling, image pulls), are under"
                " --source runner." if source == "step" else ""))
        log_lines(entries, grouped=grouped, verbosity=min(verbose, 2))

    out.items([log_entry(e) for e in entries] if out.json else entries, human)


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

    out.item(_full(execution) if out.json else execution, human)


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

    out.item(_full(execution) if out.json else execution, lambda: result_line("Cancel requested for", execution))
