"""`kitaru clean project|global|all`: delete local Kitaru state (asks first unless --yes)."""

import enum
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kitaru.cli._base import EXIT_USAGE, Out, OutputFormat, OutputOpt, fail


class Scope(str, enum.Enum):
    """What `kitaru clean` deletes."""

    project = "project"
    global_ = "global"
    all = "all"


def _is_kitaru_dir(path: Path) -> bool:
    """Only directories that are clearly Kitaru's are ever deleted."""
    return path.name == ".kitaru" or (path / "kitaru.db").is_file()


def targets(scope: Scope) -> list[Path]:
    """The directories a scope covers (existing ones only)."""
    from kitaru.config._paths import resolve_home, user_config_dir

    user = user_config_dir().resolve()
    home = resolve_home()
    found: list[Path] = []
    if scope in (Scope.project, Scope.all) and home != user:
        found.append(home)
    if scope in (Scope.global_, Scope.all):
        found.append(user)
    return [p for p in found if p.exists()]


def _size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += (Path(root) / f).stat().st_size
            except OSError:
                pass
    return total


def clean_command(
    scope: Annotated[Scope, typer.Argument(help="project: this project's .kitaru/ (or KITARU_HOME); global: the"
                                                " user config dir; all: both.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", "--force",
                                      help="Do not ask for confirmation (--force as in Kitaru 0.4).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be deleted.")] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Delete local Kitaru state: executions, logs, artifacts, secrets and settings."""
    out = Out("clean", output)
    paths = targets(scope)
    unsafe = [p for p in paths if p != _user_dir() and not _is_kitaru_dir(p)]
    if unsafe:
        fail(f"{unsafe[0]} does not look like a Kitaru directory (no kitaru.db); delete it by hand if you mean it",
             EXIT_USAGE, kind="UsageError")
    items: list[dict[str, Any]] = [{"path": str(p), "bytes": _size(p), "deleted": False} for p in paths]
    if not paths:
        out.items(items, lambda: typer.echo(f"Nothing to clean for {scope.value!r}."))
        return
    if not dry_run and not yes:
        if not sys.stdin.isatty():
            fail("refusing to delete without confirmation; pass --yes (or --dry-run to preview)", EXIT_USAGE,
                 kind="UsageError")
        listing = "\n".join(f"  {i['path']}" for i in items)
        if not typer.confirm(f"Delete these directories?\n{listing}\n", default=False, err=out.json):
            fail("nothing deleted (not confirmed)", 1, kind="Aborted")
    if not dry_run:
        import shutil

        for item, path in zip(items, paths, strict=True):
            shutil.rmtree(path)
            item["deleted"] = True

    def human() -> None:
        from kitaru.cli._render import fmt_size

        verb = "Would delete" if dry_run else "Deleted"
        for item in items:
            typer.echo(f"{verb} {item['path']} ({fmt_size(item['bytes'])})")

    out.items(items, human)


def _user_dir() -> Path:
    from kitaru.config._paths import user_config_dir

    return user_config_dir().resolve()
