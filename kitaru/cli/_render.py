"""Human output: tables, status colours, durations. Rich only on a terminal (imported lazily)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from kitaru.cli._base import is_terminal

STATUS_STYLE = {
    "running": "cyan",
    "waiting": "yellow",
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "pending": "yellow",
    "answered": "green",
    "aborted": "magenta",
}


def fmt_time(value: datetime | None) -> str:
    """A UTC timestamp for humans: `2025-01-31 12:00:03Z`."""
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%SZ")


def fmt_duration(seconds: float | None) -> str:
    """`0.12s`, `3.4s`, `2m05s`, `1h02m`."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_size(n: int | None) -> str:
    """Bytes for humans."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return f"{n}B"


def _escape_table() -> dict[int, str]:
    controls = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                *range(0x2066, 0x206A)]  # C0, DEL, C1, and the bidi marks that reorder what a terminal shows
    return {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in controls}


_ESCAPES = _escape_table()
_ESCAPES_KEEP_LINES = {c: e for c, e in _ESCAPES.items() if c not in (0x09, 0x0A)}


def printable(text: Any, *, keep_newlines: bool = False) -> str:
    """Stored text made safe for a terminal: control characters (escape sequences, carriage returns, bells,
    bidi overrides) become visible escapes like `\\x1b`. Every human output path of the CLI goes through it."""
    return str(text).translate(_ESCAPES_KEEP_LINES if keep_newlines else _ESCAPES)


_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in _ESCAPES if c >= 0x7F}


def json_safe(document: str) -> str:
    """A JSON document with the control characters JSON leaves raw (DEL, C1, bidi marks) written as `\\uXXXX`:
    the same data, harmless on a terminal."""
    return document.translate(_JSON_ESCAPES)


class Markup(str):
    """Text that already is rich markup (everything else is escaped before rich sees it)."""


def _safe(text: Any) -> str:
    """Escape user text for rich, unless it is already Markup."""
    if isinstance(text, Markup):
        return text
    from rich.markup import escape

    return escape(printable(text, keep_newlines=True))


def styled(text: Any, style: str | None) -> str:
    """Rich markup on a terminal, the plain text elsewhere."""
    if not style or not is_terminal():
        return text if isinstance(text, Markup) else printable(text, keep_newlines=True)
    return Markup(f"[{style}]{_safe(text)}[/]")


def status(value: Any) -> str:
    """A status word, coloured on a terminal."""
    text = str(getattr(value, "value", value))
    return styled(text, STATUS_STYLE.get(text))


_console: Any = None


def console() -> Any:
    """The shared rich console (terminal only)."""
    global _console
    if _console is None:
        from rich.console import Console

        _console = Console(highlight=False, soft_wrap=False)
    return _console


def echo(*parts: Any) -> None:
    """Print a line of parts: styled parts rendered on a terminal, user text escaped; plain text elsewhere."""
    if is_terminal():
        console().print(Markup("".join(_safe(p) for p in parts)))
    else:
        sys.stdout.write("".join(p if isinstance(p, Markup) else printable(p, keep_newlines=True)
                                 for p in parts) + "\n")


class Table:
    """Columns of text: a rich table on a terminal, aligned plain columns elsewhere."""

    def __init__(self, *columns: str, title: str | None = None) -> None:
        self.columns = columns
        self.title = title
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: Any) -> None:
        """Append a row (cells are converted with str())."""
        self.rows.append(tuple("-" if c is None else c if isinstance(c, Markup) else printable(c) for c in cells))

    def print(self) -> None:
        """Render to stdout."""
        if is_terminal():
            from rich.table import Table as RichTable

            table = RichTable(title=self.title, title_justify="left", header_style="bold")
            for col in self.columns:
                table.add_column(col, no_wrap=col in ("ID", "EXEC ID"))
            for row in self.rows:
                table.add_row(*(_safe(c) for c in row))
            console().print(table)
            return
        if self.title:
            sys.stdout.write(self.title + "\n")
        widths = [max([len(c)] + [len(r[i]) for r in self.rows]) for i, c in enumerate(self.columns)]
        for row in (self.columns, *self.rows):
            sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def fields(pairs: list[tuple[str, Any]]) -> None:
    """Aligned `key  value` lines (skipping empty values); a tuple value is a sequence of parts."""
    shown = [(k, v) for k, v in pairs if v not in (None, "", [], ())]
    width = max((len(k) for k, _ in shown), default=0)
    for key, value in shown:
        parts = value if isinstance(value, tuple) else (value,)
        echo("  ", styled(key.ljust(width), "dim"), "  ", *parts)
