"""`kitaru run TARGET`: start a flow from a script (`file.py:flow`) or a module (`pkg.mod:flow`)."""

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kitaru.cli._base import EXIT_FAILED, Out, OutputFormat, OutputOpt, parse_json

if TYPE_CHECKING:
    from kitaru.sdk import Flow


def split_target(target: str) -> tuple[str, str]:
    """`path/file.py:flow` or `module:flow` → (where, flow name); a usage error otherwise."""
    from kitaru.errors import KitaruUsageError

    where, sep, name = target.rpartition(":")
    if not sep or not where or not name or not name.replace("_", "a").replace(".", "a").isalnum():
        raise KitaruUsageError(
            f"target {target!r} is not FILE.py:FLOW or MODULE:FLOW; e.g. `kitaru run agents/research.py:research`"
        )
    return where, name


def load_target(target: str) -> "Flow[Any]":
    """Import the flow a target names, without running the file's `__main__` block."""
    from kitaru.errors import KitaruUsageError
    from kitaru.runtime._source import load_object
    from kitaru.sdk import Flow

    where, name = split_target(target)
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise KitaruUsageError(f"flow file {where!r} does not exist; check the path (relative to {os.getcwd()})")
        source = {"module": None, "file": path, "qualname": name, "importable": True}
    else:
        source = {"module": where, "qualname": name, "root": os.getcwd(), "importable": True}
    try:
        obj = load_object(source)
    except ModuleNotFoundError as exc:
        raise KitaruUsageError(f"cannot import module {where!r} ({exc}); run from the project root or pass a"
                               " FILE.py:FLOW path") from None
    if not isinstance(obj, Flow):
        raise KitaruUsageError(f"{name!r} in {where} is a {type(obj).__name__}, not a @flow; decorate it with"
                               " @kitaru.flow")
    return obj


def run_command(
    target: Annotated[str, typer.Argument(help="FILE.py:FLOW or MODULE:FLOW, e.g. agents/research.py:research.",
                                          show_default=False)],
    args: Annotated[str | None, typer.Option("--args", "-a", help="Flow inputs as a JSON object.")] = None,
    stack: Annotated[str | None, typer.Option("--stack", help="Run on this stack (default: the active one).")] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Start a flow and print its execution id and final status (exit 1 if it failed)."""
    out = Out("run", output)
    inputs = parse_json(args, "--args", want_object=True) or {}
    flow = load_target(target)
    if out.json:  # the flow's own prints must not mix with the JSON document on stdout
        import contextlib
        import sys

        with contextlib.redirect_stdout(sys.stderr):
            handle = flow.run(stack=stack, **inputs)
    else:
        handle = flow.run(stack=stack, **inputs)
    from kitaru.client import KitaruClient

    execution = KitaruClient().executions.get(handle.exec_id)

    def human() -> None:
        from kitaru.cli._views import result_line

        result_line("Execution", execution)
        st = execution.status.value
        if st == "waiting":
            out.note(f"It waits for input: `kitaru executions input {execution.exec_id} --value JSON`.")
        elif st == "failed" and execution.failure is not None:
            out.note(f"Failure: {execution.failure.message or execution.failure.reason}. Inspect it with"
                     f" `kitaru executions get {execution.exec_id}`, fix it, then"
                     f" `kitaru executions retry {execution.exec_id}`.")
        elif st == "running":
            out.note(f"Follow it with `kitaru executions logs {execution.exec_id} --follow`.")

    out.item(execution, human)
    if execution.status.value == "failed":
        raise typer.Exit(EXIT_FAILED)
