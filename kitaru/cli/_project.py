"""`kitaru init`, `kitaru status`, `kitaru info`: the project's state and where it lives."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from kitaru.cli._base import EXIT_FAILED, Out, OutputFormat, OutputOpt

_DIAGNOSTIC_RETRY = "3"


def init_command(
    path: Annotated[Path, typer.Argument(help="Project directory (default: the current directory).")] = Path("."),
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Create the project's .kitaru/ (state store, local artifact root); safe to run again."""
    from kitaru.config._paths import ensure_gitignore
    from kitaru.store import open_state

    out = Out("init", output)
    project = path.expanduser().resolve()
    if project.exists() and not project.is_dir():
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError(f"{project} is a file; pass a directory to `kitaru init`")
    home = project / ".kitaru"
    existed = (home / "kitaru.db").is_file()
    home.mkdir(parents=True, exist_ok=True)
    open_state(home)
    (home / "artifacts").mkdir(exist_ok=True)
    ensure_gitignore(home)
    item = {"project": str(project), "home": str(home), "state_store": str(home / "kitaru.db"),
            "artifact_root": str(home / "artifacts"), "created": not existed}

    def human() -> None:
        verb = "Already initialised" if existed else "Initialised"
        typer.echo(f"{verb} Kitaru project in {project} (state in {home}).")
        out.note("Next: start a flow with `kitaru run path/to/file.py:flow_name`.")
        env_home = os.environ.get("KITARU_HOME")
        if env_home and Path(env_home).expanduser().resolve() != home:
            out.note(f"Note: KITARU_HOME={env_home} is set, so commands use that instead of {home}.")

    out.item(item, human)


def _connection() -> dict[str, Any]:
    """The server this process talks to (KITARU_SERVER_URL or a saved `kitaru login`), else the embedded store."""
    from kitaru.config._paths import resolve_home
    from kitaru.store._connection import active_connection

    conn = active_connection()
    if conn:
        source = "KITARU_SERVER_URL" if os.environ.get("KITARU_SERVER_URL") else "kitaru login"
        return {"mode": "server", "url": conn["url"], "source": source}
    return {"mode": "embedded", "url": f"sqlite:///{resolve_home() / 'kitaru.db'}", "source": "local"}


def _active_stack() -> str:
    """The stack new executions run on (a broken selection is shown, not fatal)."""
    from kitaru.errors import KitaruError
    from kitaru.stacks import current_stack

    try:
        return str(current_stack().name)
    except KitaruError as exc:
        return f"unavailable ({exc})"


def _safe_stack() -> str:
    with _fail_fast():
        return _active_stack()


def _plugins() -> list[dict[str, Any]]:
    """Installed plugin distributions (entry points in group `kitaru`), without importing them."""
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group="kitaru"):
        dist = ep.dist
        found.append({"name": ep.name, "module": ep.value, "distribution": dist.name if dist else None,
                      "version": dist.version if dist else None})
    return sorted(found, key=lambda p: p["name"])


def _home_info() -> dict[str, Any]:
    from kitaru.config._paths import find_project_root, resolve_home

    home = resolve_home()
    source = "KITARU_HOME" if os.environ.get("KITARU_HOME") else ("project" if find_project_root() and
                                                                 home.name == ".kitaru" else "user")
    return {"home": str(home), "home_source": source, "initialised": (home / "kitaru.db").is_file()}


@contextmanager
def _fail_fast() -> Iterator[None]:
    """Diagnostics give up on an unreachable server after a few seconds, not the client's usual minute."""
    key = "KITARU_CLIENT_RETRY_SECONDS"
    previous = os.environ.get(key)
    if previous is None:
        os.environ[key] = _DIAGNOSTIC_RETRY
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(key, None)


def status_command(output: OutputOpt = OutputFormat.text) -> None:
    """Show where state lives, the connection, the active stack and what is waiting for input."""
    from kitaru.client import KitaruClient
    from kitaru.errors import KitaruBackendError

    out = Out("status", output)
    info = _home_info()
    item: dict[str, Any] = {**info, "connection": _connection()}
    waits: list[Any] = []
    latest: list[Any] = []
    try:
        with _fail_fast():
            client = KitaruClient()
            waits = client.executions.pending_waits()
            latest = client.executions.list(limit=1)
            item.update(stack=_active_stack(), pending_waits=len(waits),
                        latest_execution=latest[0].to_dict() if latest else None)
    except KitaruBackendError as exc:
        item["error"] = str(exc)

    def human() -> None:
        from kitaru.cli._render import fields, status, styled

        conn = item["connection"]
        fields([("connection", f"{conn['mode']} ({conn['url']})"), ("home", f"{info['home']} ({info['home_source']})"),
                ("error", styled(item["error"], "red") if "error" in item else None),
                ("stack", item.get("stack")),
                ("latest", (f"{latest[0].exec_id} {latest[0].flow_name} ", status(latest[0].status)) if latest
                 else None if "error" in item else "no executions yet"),
                ("waiting", f"{len(waits)} pending wait(s): `kitaru executions input -i`" if waits else None)])

    out.item(item, human)
    if "error" in item:
        raise typer.Exit(EXIT_FAILED)


def _packages() -> list[dict[str, str]]:
    """Every installed distribution with its version, sorted by name."""
    from importlib.metadata import distributions

    found = {(d.metadata["Name"] or "").lower(): d.version for d in distributions() if d.metadata["Name"]}
    return [{"name": name, "version": version} for name, version in sorted(found.items())]


def info_command(
    all_packages: Annotated[bool, typer.Option("--all-packages", help="Also list every installed Python package.")
                            ] = False,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show versions (core, Python, plugins), paths, the connection and the active stack."""
    import platform

    from kitaru import __version__

    out = Out("info", output)
    item = {"version": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "executable": sys.executable, **_home_info(), "connection": _connection(), "stack": _safe_stack(),
            "plugins": _plugins()}
    if all_packages:
        item["packages"] = _packages()

    def human() -> None:
        from kitaru.cli._render import Table, fields

        conn = item["connection"]
        fields([("kitaru", item["version"]), ("python", f"{item['python']} ({item['executable']})"),
                ("platform", item["platform"]), ("home", f"{item['home']} ({item['home_source']})"),
                ("connection", f"{conn['mode']} ({conn['url']})"), ("stack", item["stack"])])
        if item["plugins"]:
            table = Table("PLUGIN", "DISTRIBUTION", "VERSION", "MODULE", title="Plugins")
            for p in item["plugins"]:
                table.add(p["name"], p["distribution"], p["version"], p["module"])
            table.print()
        if all_packages:
            packages = Table("PACKAGE", "VERSION", title="Installed packages")
            for p in item["packages"]:
                packages.add(p["name"], p["version"])
            packages.print()

    out.item(item, human)
