"""`kitaru executions input`: answer (or abort) pending waits, from a flag or interactively."""

import sys
from typing import Annotated, Any

import typer

from kitaru.cli._base import EXIT_USAGE, Out, OutputFormat, OutputOpt, fail, parse_json
from kitaru.cli._render import printable

_SKIP, _ABORT, _QUIT = object(), object(), object()
_HELP_LINE = "JSON or plain text; empty line skips, :abort aborts the wait, :quit stops"


def input_command(
    exec_id: Annotated[str | None, typer.Argument(
        help="Execution to answer (default: the only execution waiting for input).", show_default=False)] = None,
    value: Annotated[str | None, typer.Option(
        "--value", "-v", help="The answer as JSON, e.g. true, 42, '\"text\"' or '{\"approved\": true}'.")] = None,
    wait: Annotated[str | None, typer.Option(
        "--wait", "-w", help="Which pending wait (name or id) when the execution has several.")] = None,
    abort: Annotated[bool, typer.Option("--abort", help="Abort the wait: the execution ends cancelled.")] = False,
    interactive: Annotated[bool, typer.Option(
        "--interactive", "-i", help="Walk every pending wait and prompt for each answer (validated).")] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Answer a pending wait and resume its execution (auto-selects the single pending wait)."""
    out = Out("executions input", output)
    if value is not None and abort:
        fail("--value and --abort exclude each other; pass one", EXIT_USAGE, kind="UsageError")
    if interactive and (value is not None or abort):
        fail("--interactive prompts for answers; drop --value/--abort or drop -i", EXIT_USAGE, kind="UsageError")
    from kitaru.client import KitaruClient

    client = KitaruClient()
    if interactive:
        _walk(client, client.executions.pending_waits(exec_id), out)
        return
    target = _select(client, exec_id, wait)
    if abort:
        execution = client.executions.abort_wait(target.exec_id, wait=target.wait_id)
        _report(out, "Aborted wait", target, execution)
        return
    if value is None:
        if not sys.stdin.isatty():
            fail(f"no answer given; pass --value JSON (the wait expects {_expects(target)}), or run in a terminal",
                 EXIT_USAGE, kind="UsageError")
        _walk(client, [target], out)
        return
    answer = parse_json(value, "--value")
    execution = client.executions.input(target.exec_id, wait=target.wait_id, value=answer)
    _report(out, "Answered", target, execution)


def _expects(w: Any) -> str:
    from kitaru.cli._views import expects

    return expects(w)


def _select(client: Any, exec_id: str | None, wait: str | None) -> Any:
    """The one pending wait the user means, or a usage error listing the choices."""
    from kitaru.errors import KitaruStateError, KitaruUsageError

    pending = client.executions.pending_waits(exec_id)
    if wait is not None:
        pending = [w for w in pending if wait in (w.wait_id, w.name)]
    if len(pending) == 1:
        return pending[0]
    where = f"execution {exec_id}" if exec_id else "any execution"
    if not pending:
        named = f" named {wait!r}" if wait else ""
        raise KitaruStateError(f"{where} has no pending wait{named}; list waiting executions with"
                               " `kitaru executions list --status waiting`")
    choices = ", ".join(f"{w.exec_id} --wait {w.wait_id}" for w in pending[:5])
    raise KitaruUsageError(f"{where} has {len(pending)} pending waits; pick one ({choices}) or use -i")


def _report(out: Out, verb: str, w: Any, execution: Any) -> None:
    from kitaru.cli._views import result_line

    def human() -> None:
        result_line(f"{verb} {w.wait_id!r} of", execution)
        out.note(_continues(execution) or f"Follow it with `kitaru executions logs {execution.exec_id} --follow`.")

    out.item(execution, human)


def _continues(execution: Any) -> str | None:
    """Who continues an execution this user did not start (it never runs on this machine)."""
    from kitaru.cli._executions import _client

    result: str | None = _client().executions.continuation_note(execution.exec_id)
    return result


def _ask(prompt: str, stream: Any) -> Any:
    """Read one answer line: a JSON value, plain text, or a control word."""
    import json

    stream.write(prompt)
    stream.flush()
    line = sys.stdin.readline()
    if not line:
        return _QUIT
    text = line.strip()
    if not text:
        return _SKIP
    if text in (":abort", ":quit", ":q"):
        return _ABORT if text == ":abort" else _QUIT
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _walk(client: Any, waits: list[Any], out: Out) -> None:
    """Prompt for each pending wait until its answer validates; report what was answered."""
    from kitaru.errors import KitaruStateError, KitaruWaitValidationError

    stream = sys.stderr if out.json else sys.stdout
    done: list[Any] = []
    if not waits:
        out.note("Nothing is waiting for input.")
    for n, w in enumerate(waits, 1):
        flow = client.executions.get(w.exec_id).flow_name
        stream.write(printable(f"\n[{n}/{len(waits)}] execution {w.exec_id} ({flow}), wait {w.wait_id!r}\n"
                               f"  {w.question or 'Input for ' + w.name}\n  expects: {_expects(w)}   ({_HELP_LINE})\n",
                               keep_newlines=True))
        while True:
            answer = _ask("> ", stream)
            if answer is _QUIT:
                stream.write("stopped\n")
                return _finish(out, done)
            if answer is _SKIP:
                stream.write("skipped\n")
                break
            try:
                if answer is _ABORT:
                    done.append(client.executions.abort_wait(w.exec_id, wait=w.wait_id))
                    stream.write("aborted\n")
                else:
                    done.append(client.executions.input(w.exec_id, wait=w.wait_id, value=answer))
                    note = _continues(done[-1])
                    stream.write(f"answered; {note}\n" if note else f"answered; execution {w.exec_id} resumes\n")
                break
            except KitaruWaitValidationError as exc:
                stream.write(printable(f"invalid answer: {exc}\n", keep_newlines=True))
            except KitaruStateError as exc:
                stream.write(printable(f"{exc}\n", keep_newlines=True))
                break
        stream.flush()
    _finish(out, done)


def _finish(out: Out, done: list[Any]) -> None:
    from kitaru.cli._views import executions_table

    def human() -> None:
        if done:
            executions_table(done)

    out.items(done, human)
