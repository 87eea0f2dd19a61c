"""CLI plumbing: the `-o` option, JSON/human output, error → exit-code mapping."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class OutputFormat(str, enum.Enum):
    """How a command prints its result."""

    text = "text"
    json = "json"


_state: dict[str, Any] = {"json": False, "command": None}


def _remember_format(value: OutputFormat) -> OutputFormat:
    _state["json"] = value == OutputFormat.json
    return value


OutputOpt = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="Output format: text (tables) or json (one JSON document).",
                 callback=_remember_format, case_sensitive=False),
]


def is_terminal() -> bool:
    """Whether stdout is an interactive terminal (decorations, colours, progress)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def dotted(command: str) -> str:
    """`executions get` → `executions.get`: the command name in JSON documents (as Kitaru 0.4 writes it)."""
    return ".".join(command.split())


class Out:
    """Writes one command's result as JSON (`-o json`: one compact line) or as human text."""

    def __init__(self, command: str, fmt: OutputFormat) -> None:
        command = dotted(command)
        self.command = command
        self.json = fmt == OutputFormat.json
        _state["json"], _state["command"] = self.json, command

    def item(self, data: Any, human: Callable[[], None]) -> None:
        """Print one object (a dict or a model with `to_dict()`): `{"command", "item"}` in JSON mode,
        else call `human()`."""
        if self.json:
            emit_json({"command": self.command, "item": _plain(data)})
        else:
            human()

    def items(self, data: list[Any], human: Callable[[], None]) -> None:
        """Print a list: `{"command", "items", "count"}` in JSON mode, else call `human()`."""
        if self.json:
            emit_json({"command": self.command, "items": [_plain(d) for d in data], "count": len(data)})
        else:
            human()

    def note(self, text: str) -> None:
        """A human hint on stderr (never mixed into JSON on stdout)."""
        from kitaru.cli._render import printable

        typer.echo(printable(text, keep_newlines=True), err=True)


def _plain(data: Any) -> Any:
    """Models → their JSON-ready dict (converted only when JSON is printed); executions and log lines in
    Kitaru 0.4's shapes."""
    from kitaru.client._models import Execution, LogEntry

    if isinstance(data, Execution):
        from kitaru.cli._serialize import execution

        return execution(data)
    if isinstance(data, LogEntry):
        from kitaru.cli._serialize import log_entry

        return log_entry(data)
    to_dict = getattr(data, "to_dict", None)
    return to_dict() if callable(to_dict) else data


def emit_json(doc: Any, *, indent: int | None = None, err: bool = False) -> None:
    """Write one JSON document as one line (to stderr with `err`, where errors go)."""
    import json

    from kitaru.cli._render import json_safe

    stream = sys.stderr if err else sys.stdout
    stream.write(json_safe(json.dumps(doc, indent=indent, default=str, ensure_ascii=False)) + "\n")
    stream.flush()


def parse_json(text: str | None, option: str, *, want_object: bool = False) -> Any:
    """Parse a JSON option value; invalid JSON is a usage error naming the option."""
    import json

    from kitaru.errors import KitaruUsageError

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KitaruUsageError(
            f"{option} is not valid JSON ({exc.msg} at column {exc.colno}); quote strings, e.g. {option} '\"yes\"'"
        ) from None
    if want_object and not isinstance(value, dict):
        raise KitaruUsageError(f"{option} must be a JSON object, e.g. {option} '{{\"topic\": \"ai\"}}'")
    return value


def exit_code_for(exc: BaseException) -> int:
    """2 for usage/validation errors and unknown ids (text mode), 1 for every other failure."""
    from kitaru.errors import KitaruUsageError, KitaruWaitValidationError

    usage = isinstance(exc, (KitaruUsageError, KitaruWaitValidationError, LookupError))
    return EXIT_USAGE if usage else EXIT_FAILED


def fail(message: str, code: int = EXIT_FAILED, *, kind: str = "error") -> NoReturn:
    """Report an error and exit.

    With `-o json` (as Kitaru 0.4): one JSON line `{"command", "error": {"message", "type"}}` on stderr and
    exit 1, usage errors included. In text mode: `Error: …` on stderr and `code` (2 for usage errors).
    """
    if _state["json"]:
        emit_json({"command": _state["command"] or "cli", "error": {"message": message, "type": kind,
                                                                    "exit_code": EXIT_FAILED}}, err=True)
        raise typer.Exit(EXIT_FAILED)
    from kitaru.cli._render import printable

    typer.echo(f"Error: {printable(message, keep_newlines=True)}", err=True)
    raise typer.Exit(code)


def wants_json(args: list[str]) -> bool:
    """Whether a command line asks for `-o json` (looked at before parsing, so parse errors are JSON too)."""
    for i, arg in enumerate(args):
        if arg == "--":
            return False
        if arg in ("-o", "--output") and i + 1 < len(args):
            if args[i + 1].lower() == "json":
                return True
        elif arg.lower() in ("--output=json", "-ojson", "-o=json"):
            return True
    return False


def _command_of(args: list[str], root: Any) -> str:
    """The dotted sub-command named by the leading words of a command line (`executions.get`)."""
    words: list[str] = []
    group = root
    for arg in args:
        commands = getattr(group, "commands", None)
        if arg.startswith("-") or commands is None or arg not in commands:
            break
        words.append(arg)
        group = commands[arg]
    return ".".join(words) or "cli"


def _click_exceptions() -> Any:
    """The click exceptions module typer uses (its vendored copy in recent versions) for ClickException."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _exit_code_of(report: Callable[[], Any]) -> int:
    """Run a `fail(...)` call and return the exit code it raised."""
    try:
        report()
    except typer.Exit as done:
        return int(done.exit_code)
    return EXIT_FAILED


def _debug() -> bool:
    return os.environ.get("KITARU_DEBUG", "").lower() in ("1", "true", "yes")


class KitaruGroup(TyperGroup):
    """The root command group: turns Kitaru errors into one sentence and an exit code."""

    _fast_installed = False

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Parse simple values without pydantic (start-up speed), then run as usual."""
        if not self._fast_installed:
            from kitaru.cli._fast import install

            install(self)
            self._fast_installed = True
        _state.update(json=False, command=None)
        given = kwargs.get("args")
        argv: list[str] = list(given if given is not None else (args[0] if args else sys.argv[1:]))
        if not wants_json(argv):
            return super().main(*args, **kwargs)
        cx = _click_exceptions()
        _state.update(json=True, command=_command_of(argv, self))
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except typer.Abort:
            code = _exit_code_of(lambda: fail("aborted", EXIT_FAILED, kind="Abort"))
        except cx.ClickException as exc:  # usage errors: bad option, missing argument, unknown command
            message, kind = exc.format_message(), type(exc).__name__
            code = _exit_code_of(lambda: fail(message, EXIT_USAGE, kind=kind))
        except typer.Exit as exc:
            code = exc.exit_code
        raise SystemExit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: Any) -> list[str]:
        """Sub-command names in registration order (without building lazy sub-apps)."""
        return list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A built-in command, else one a plugin's `kitaru_cli` hook adds (plugins load only then)."""
        command = super().get_command(ctx, cmd_name)
        if command is None:
            from kitaru.cli._extensions import find

            command = find(cmd_name)
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """List sub-commands; sub-apps not built yet are listed from their help text."""
        from kitaru.cli._lazy import format_commands

        if not format_commands(self, ctx, formatter):
            super().format_commands(ctx, formatter)

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map KitaruError → exit 1/2, unexpected errors → exit 1 without traceback."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise
        except Exception as exc:
            from kitaru.errors import KitaruError

            if _debug():
                raise
            if isinstance(exc, KitaruError):
                fail(str(exc), exit_code_for(exc), kind=type(exc).__name__)
            if isinstance(exc, TimeoutError):
                fail(str(exc), EXIT_FAILED, kind="TimeoutError")
            fail(f"unexpected {type(exc).__name__}: {exc}. Rerun with KITARU_DEBUG=1 for the traceback and report it",
                 EXIT_FAILED, kind=type(exc).__name__)


def new_app(help_text: str, **kwargs: Any) -> typer.Typer:
    """A typer app with Kitaru's defaults (plain help, no completion install, -h)."""
    kwargs.setdefault("no_args_is_help", True)
    return typer.Typer(help=help_text, add_completion=False, pretty_exceptions_enable=False,
                       context_settings={"help_option_names": ["-h", "--help"]}, **kwargs)
