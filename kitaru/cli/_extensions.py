"""Commands that plugins add to `kitaru` through the `kitaru_cli` hook, loaded only when used.

A plugin declares each top-level command its `kitaru_cli(app)` hook adds in the entry-point group
`kitaru.cli` (`k8s = "kitaru_k8s"`: command name = the plugin module), so `kitaru --help` lists it
from installed metadata without importing any plugin. Running a plugin command (or any name the core
does not know) loads the plugins and calls every `kitaru_cli` hook once, on a fresh typer app.
"""

from __future__ import annotations

import os
from typing import Any

GROUP = "kitaru.cli"

_loaded: tuple[dict[str, Any], list[str]] | None = None


def _blocked(ep: Any) -> bool:
    """Whether KITARU_DISABLE_PLUGINS blocks the plugin declaring `ep` (by distribution or plugin name)."""
    names = {n.strip() for n in os.environ.get("KITARU_DISABLE_PLUGINS", "").split(",") if n.strip()}
    if "all" in names:
        return True
    if ep.dist is None or not names:
        return False
    plugins = {e.name for e in ep.dist.entry_points if e.group == "kitaru"}
    return ep.dist.name in names or bool(plugins & names)


def declared() -> dict[str, str]:
    """Plugin command name → its help line, read from installed metadata (imports no plugin)."""
    from importlib import metadata

    found: dict[str, str] = {}
    for ep in metadata.entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else None
        if ep.name in found or _blocked(ep):
            continue
        summary = (ep.dist.metadata["Summary"] or "") if ep.dist is not None else ""
        found[ep.name] = f"[plugin {dist or ep.value}] {summary}".strip()
    return found


def plugin_commands() -> tuple[dict[str, Any], list[str]]:
    """Call every plugin's `kitaru_cli` hook once: the click commands they added, and the hook failures."""
    global _loaded
    if _loaded is None:
        import typer
        from typer.main import get_group

        from kitaru.cli._fast import install
        from kitaru.plugins import get_plugin_manager

        app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
        errors = get_plugin_manager().extend_cli(app)
        commands: dict[str, Any] = {}
        if app.registered_commands or app.registered_groups:
            group = get_group(app)
            install(group)
            commands = dict(group.commands)
        _loaded = (commands, errors)
    return _loaded


def build(name: str) -> Any:
    """The click command `name` added by a plugin hook, or a command that says why it is missing."""
    commands, errors = plugin_commands()
    if name in commands:
        return commands[name]
    import typer

    why = "; ".join(errors) or "its plugin's kitaru_cli hook did not add it"
    stub = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)

    @stub.command(name, help=f"Unavailable: {why}",
                  context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def unavailable() -> None:
        from kitaru.cli._base import fail

        fail(f"the plugin command {name!r} is unavailable: {why}. See `kitaru plugins list`")

    return typer.main.get_command(stub)


def find(name: str) -> Any | None:
    """A command a plugin added without declaring it in `kitaru.cli` (None if no plugin added `name`)."""
    if name.startswith("-"):
        return None
    return plugin_commands()[0].get(name)


def reset() -> None:
    """Forget the plugin commands built in this process (tests, after installing a plugin in-process)."""
    global _loaded
    _loaded = None
