"""Start-up speed: build a sub-app's click commands only when that sub-app is used.

typer turns every registered command into click objects up front (signature inspection,
annotation evaluation): ~1 ms per command, paid by every invocation. The root group built here
keeps each named sub-app (`executions`, `stack`, …) as a recipe until it is looked up, so
`kitaru executions list` builds the root and `executions` only. `--help` lists every sub-app
from its help text without building it, and the commands plugins declare (kitaru/cli/_extensions.py)
from their installed metadata without importing them. Behaviour is the same as typer's eager build.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import typer


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands where some are built on first access (registration order kept)."""

    def __init__(self, built: MutableMapping[str, Any], pending: dict[str, tuple[Callable[[], Any], str]]) -> None:
        self._built = dict(built)
        self._pending = dict(pending)
        self._order = [*self._built, *(n for n in self._pending if n not in self._built)]

    def __getitem__(self, name: str) -> Any:
        if name not in self._built and name in self._pending:
            build, _ = self._pending.pop(name)
            self._built[name] = build()
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._pending.pop(name, None)
        if name not in self._order:
            self._order.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._pending.pop(name, None)
        self._built.pop(name, None)
        self._order.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def pending_help(self, name: str) -> str | None:
        """The help text of a sub-app not built yet (None once built)."""
        entry = self._pending.get(name)
        return None if entry is None else entry[1]

    def built_values(self) -> list[Any]:
        """The commands built so far (never triggers a build)."""
        return list(self._built.values())


def build_root(app: typer.Typer) -> Any:
    """The root click group of `app`, with its named sub-apps built lazily."""
    from typer.main import get_command, get_group_from_info, solve_typer_info_defaults

    from kitaru.cli._fast import install

    lazy: list[tuple[Any, Any]] = []
    eager: list[tuple[Any, Any]] = []
    for info in app.registered_groups:
        solved = solve_typer_info_defaults(info)
        (lazy if solved.name and not solved.hidden else eager).append((info, solved))
    shell = copy.copy(app)
    shell.registered_groups = [info for info, _ in eager]
    root: Any = get_command(shell)

    def builder(info: Any) -> Callable[[], Any]:
        def build() -> Any:
            group = get_group_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,
                                        rich_markup_mode=app.rich_markup_mode,
                                        suggest_commands=getattr(app, "suggest_commands", True))
            install(group)
            return group

        return build

    pending = {solved.name: (builder(info), solved.help or "") for info, solved in lazy}
    from kitaru.cli import _extensions

    for name, help_text in _extensions.declared().items():  # plugin commands: listed now, built when used
        if name not in root.commands and name not in pending:
            pending[name] = functools.partial(_extensions.build, name), help_text
    root.commands = LazyCommands(root.commands, pending)
    return root


def format_commands(group: Any, ctx: Any, formatter: Any) -> bool:
    """Write the Commands section without building pending sub-apps; False if not applicable."""
    commands = group.commands
    if not isinstance(commands, LazyCommands):
        return False
    from typer._click.utils import make_default_short_help

    rows: list[tuple[str, Any]] = []
    for name in group.list_commands(ctx):
        help_text = commands.pending_help(name)
        if help_text is not None:
            rows.append((name, help_text))
            continue
        cmd = group.get_command(ctx, name)
        if cmd is not None and not cmd.hidden:
            rows.append((name, cmd))
    if rows:
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        lines = [(name, make_default_short_help(item, limit) if isinstance(item, str)
                  else item.get_short_help_str(limit)) for name, item in rows]
        with formatter.section("Commands"):
            formatter.write_dl(lines)
    return True
