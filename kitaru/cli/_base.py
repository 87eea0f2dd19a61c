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


class Out:
    """Writes one command's result as JSON (`-o json`) or as human text."""

    def __init__(self, command: str, fmt: OutputFormat) -> None:
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
    """Models → their JSON-ready dict (converted only when JSON is printed)."""
    to_dict = getattr(data, "to_dict", None)
    return to_dict() if callable(to_dict) else data


def emit_json(doc: Any, *, indent: int | None = 2) -> None:
    """Write one JSON document (or line) to stdout."""
    import json

    from kitaru.cli._render import json_safe

    sys.stdout.write(json_safe(json.dumps(doc, indent=indent, default=str, ensure_ascii=False)) + "\n")
    sys.stdout.flush()


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
    """2 for usage/validation errors, 1 for every other failure."""
    from kitaru.errors import KitaruUsageError, KitaruWaitValidationError

    return EXIT_USAGE if isinstance(exc, (KitaruUsageError, KitaruWaitValidationError)) else EXIT_FAILED


def fail(message: str, code: int = EXIT_FAILED, *, kind: str = "error") -> NoReturn:
    """Report an error (stderr, plus a JSON error document in JSON mode) and exit with `code`."""
    if _state["json"]:
        emit_json({"command": _state["command"], "error": {"type": kind, "message": message, "exit_code": code}})
    from kitaru.cli._render import printable

    typer.echo(f"Error: {printable(message, keep_newlines=True)}", err=True)
    raise typer.Exit(code)


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
        return super().main(*args, **kwargs)

    def list_commands(self, ctx: Any) -> list[str]:
        """Sub-command names in registration order (without building lazy sub-apps)."""
        return list(self.commands)

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
