"""`kitaru stack …`: register, create, set/use, list, show, current, delete, export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kitaru.cli._base import Out, OutputFormat, OutputOpt, new_app

if TYPE_CHECKING:
    from kitaru.plugins import Kind

app = new_app("Stacks: named compositions of orchestrator, artifact store and container registry.")

StackName = Annotated[str, typer.Argument(help="Stack name.", show_default=False)]
_KINDS: tuple[Kind, ...] = ("orchestrator", "artifact_store", "container_registry")


def _components(spec: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')}={spec[k]['flavor']}" for k in _KINDS if isinstance(spec.get(k), dict))


def _json(info: Any) -> dict[str, Any]:
    from kitaru.cli._serialize import stack

    return stack(info)


def _list_human(infos: list[Any]) -> None:
    from kitaru.cli._render import Table, styled

    table = Table("", "NAME", "ORCHESTRATOR", "ARTIFACT STORE", "REGISTRY", "STATUS")
    for s in infos:
        state = styled("ready", "green") if s.ready else styled("cannot run: " + "; ".join(s.problems), "red")
        table.add("*" if s.active else "", s.name, s.flavor("orchestrator"), s.flavor("artifact_store"),
                  s.flavor("container_registry"), state)
    table.print()


def _show_human(info: Any) -> None:
    from kitaru.cli._render import echo, fields, styled
    from kitaru.stacks._yaml import dump_yaml

    fields([("name", info.name), ("active", "yes" if info.active else "no"),
            ("built-in", "yes" if info.builtin else None), ("components", _components(info.spec)),
            ("status", styled("ready", "green") if info.ready else styled("cannot run", "red"))])
    for problem in info.problems:
        echo("  - ", problem)
    for note in _flavor_notes(info.spec):
        echo("  ", note)
    echo(dump_yaml(info.spec).rstrip())


def _flavor_notes(spec: dict[str, Any]) -> list[str]:
    """Each installed component flavor's description (e.g. what its minted credentials cover)."""
    from kitaru.plugins import get_plugin_manager

    pm = get_plugin_manager()
    notes = []
    for kind in _KINDS:
        component = spec.get(kind)
        flavor = pm.find_flavor(kind, component["flavor"]) if isinstance(component, dict) else None
        if flavor is not None and flavor.description:
            notes.append(f"{kind.replace('_', ' ')} ({flavor.name}): {flavor.description}")
    return notes


@app.command("register")
def register_command(
    file: Annotated[Path, typer.Option("--file", "-f", help="Stack YAML file.", show_default=False)],
    activate: Annotated[bool, typer.Option("--activate", help="Make it the active stack.")] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Validate a stack YAML file against its flavors and store it (nothing is stored on error)."""
    from kitaru.stacks import register_stack

    out = Out("stack register", output)
    info = register_stack(file, activate=activate)
    out.item(_json(info), lambda: typer.echo(
        f"Stack {info.name!r} registered ({_components(info.spec)})" + ("; it is now active." if info.active else
                                                                          f". Use it with `kitaru stack set {info.name}`.")))


def _set(name: str, output: OutputFormat, command: str) -> None:
    from kitaru.stacks import use_stack

    out = Out(command, output)
    info = use_stack(name)
    out.item(_json(info), lambda: typer.echo(f"Active stack: {info.name}"))
    if not info.ready:
        out.note(f"warning: stack {name!r} cannot run yet: {'; '.join(info.problems)}")


@app.command("set")
def set_command(name: StackName, output: OutputOpt = OutputFormat.text) -> None:
    """Make NAME the active stack."""
    _set(name, output, "stack set")


@app.command("use")
def use_command(name: StackName, output: OutputOpt = OutputFormat.text) -> None:
    """Alias of `kitaru stack set`."""
    _set(name, output, "stack use")


@app.command("list")
def list_command(output: OutputOpt = OutputFormat.text) -> None:
    """List stacks (`*` marks the active one); stacks whose plugin is missing say why they cannot run."""
    from kitaru.stacks import list_stacks

    out = Out("stack list", output)
    infos = list_stacks()
    out.items([_json(s) for s in infos], lambda: _list_human(infos))


@app.command("show")
def show_command(
    name: Annotated[str | None, typer.Argument(help="Stack name (default: the current stack).")] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show a stack's components and whether it can run."""
    from kitaru.stacks import current_stack, get_stack

    out = Out("stack show", output)
    info = get_stack(name) if name else current_stack()
    out.item(_json(info), lambda: _show_human(info))


@app.command("current")
def current_command(output: OutputOpt = OutputFormat.text) -> None:
    """The stack runs use by default (KITARU_STACK / configure() / pyproject win over `stack set`)."""
    from kitaru.stacks import current_stack

    out = Out("stack current", output)
    info = current_stack()
    out.item(_json(info), lambda: typer.echo(info.name))


@app.command("create")
def create_command(
    name: Annotated[str | None, typer.Argument(help="Stack name (or `name:` in the -f file).")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Start from this stack YAML file.")] = None,
    stack_type: Annotated[str | None, typer.Option("--type", "-t",
                                                   help="local, kubernetes, vertex or sagemaker (the orchestrator).")
                          ] = None,
    artifact_store: Annotated[str | None, typer.Option(
        "--artifact-store", help="Where outputs live: a path or a URI (s3://…, gs://…, az://…).")] = None,
    container_registry: Annotated[str | None, typer.Option("--container-registry",
                                                           help="Registry URI for runtime images.")] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help="Orchestrator cluster (kubernetes).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Orchestrator region (vertex, sagemaker).")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Orchestrator namespace (kubernetes).")] = None,
    extra: Annotated[list[str] | None, typer.Option(
        "--extra", help="COMPONENT.FIELD=VALUE into a component's config (repeatable; VALUE may be JSON).")] = None,
    async_: Annotated[bool, typer.Option("--async", help="Return without waiting (creation here is immediate).")
                      ] = False,
    no_activate: Annotated[bool, typer.Option("--no-activate", help="Do not make it the active stack.")] = False,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Skip reachability checks (none are made here).")
                         ] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Create a stack from flags (or -f FILE plus flags) and make it active; nothing is stored on error."""
    from kitaru.cli._serialize import stack as serialize
    from kitaru.cli._stack_create import build_spec, create

    out = Out("stack create", output)
    spec = build_spec(name, file=file, stack_type=stack_type, artifact_store=artifact_store,
                      container_registry=container_registry, cluster=cluster, region=region, namespace=namespace,
                      extra=extra or [])
    info, previous = create(spec, activate=not no_activate)
    item = {**serialize(info), "previous_active_stack": previous,
            "components_created": [k for k in _KINDS if isinstance(info.spec.get(k), dict)],
            "stack_type": info.flavor("orchestrator")}
    out.item(item, lambda: typer.echo(
        f"Stack {info.name!r} created ({_components(info.spec)})" + ("; it is now active." if info.active else
                                                                       f". Use it with `kitaru stack set {info.name}`.")))


@app.command("delete")
def delete_command(
    name: StackName,
    recursive: Annotated[bool, typer.Option("--recursive", "-r",
                                            help="Also delete its components (they live inside the stack here).")
                         ] = False,
    force: Annotated[bool, typer.Option("--force", "-y",
                                        help="Delete even the active stack (default becomes active).")] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Delete a stack (`default` cannot be deleted)."""
    from kitaru.stacks import delete_stack, get_stack
    from kitaru.stacks._service import active_stack_name

    out = Out("stack delete", output)
    info = get_stack(name)
    delete_stack(name, force=force)
    item = {"deleted_stack": name, "name": name, "deleted": True, "recursive": recursive,
            "components_deleted": [k for k in _KINDS if isinstance(info.spec.get(k), dict)] if recursive else [],
            "new_active_stack": active_stack_name() if info.active else None}
    out.item(item, lambda: typer.echo(f"Stack {name!r} deleted."))


@app.command("export")
def export_command(
    name: StackName,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Write to this file instead of stdout.")] = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Print a stack as YAML for `kitaru stack register -f` (secret references stay references)."""
    from kitaru.stacks import export_stack, get_stack

    out = Out("stack export", output)
    text = export_stack(name)
    if file is not None:
        file.write_text(text)
    out.item({"name": name, "spec": get_stack(name).spec, "file": str(file) if file else None},
             lambda: typer.echo(f"Wrote {file}") if file else typer.echo(text.rstrip()))
