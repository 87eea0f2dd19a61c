"""`kitaru plugins list`: installed plugins, their distributions, versions and flavors."""

from __future__ import annotations

from typing import Any

from kitaru.cli._base import Out, OutputFormat, OutputOpt, new_app

app = new_app("Plugins: what is installed, from which distribution, and which flavors it provides.")


def _human(infos: list[Any]) -> None:
    from kitaru.cli._render import Table, styled

    table = Table("PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "FLAVORS")
    for p in infos:
        status = styled(p.status, {"loaded": "green", "failed": "red", "disabled": "yellow"}[p.status])
        flavors = ", ".join(f"{kind.replace('_', ' ')}:{name}" for kind, name in p.flavors)
        table.add(p.name + (" (built-in)" if p.builtin else ""), p.distribution, p.version, status,
                  flavors or (p.error or "-"))
    table.print()


@app.command("list")
def list_command(output: OutputOpt = OutputFormat.text) -> None:
    """List plugins; a plugin that failed to load shows its error (other commands keep working)."""
    from kitaru.plugins import get_plugin_manager

    out = Out("plugins list", output)
    infos = get_plugin_manager().plugins()
    out.items([p.as_dict() for p in infos], lambda: _human(infos))
