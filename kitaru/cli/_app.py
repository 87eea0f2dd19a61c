"""The `kitaru` command tree. Command modules import only typer at load time; everything else lazily."""

import typer

from kitaru.cli import _build, _clean, _executions, _project, _run, _secrets, _ui
from kitaru.cli._base import KitaruGroup


def _version(value: bool) -> None:
    if value:
        from kitaru import __version__

        typer.echo(f"kitaru {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="kitaru",
    help="Kitaru: durable execution for AI agents. Run flows, inspect executions, answer waits, replay.",
    cls=KitaruGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the Kitaru version and exit."),
) -> None:
    """Kitaru: durable execution for AI agents. Run flows, inspect executions, answer waits, replay."""


app.command("init")(_project.init_command)
app.command("status")(_project.status_command)
app.command("info")(_project.info_command)
app.command("run")(_run.run_command)
app.command("clean")(_clean.clean_command)
app.command("build")(_build.build_command)
app.command("ui")(_ui.ui_command)
app.add_typer(_executions.app, name="executions")
app.add_typer(_secrets.secrets_app, name="secrets")
app.add_typer(_secrets.model_app, name="model")

# ---------------------------------------------------------------------------------------------
# Sub-apps owned by other modules: `stack …` (kitaru/cli/_stack.py) and `plugins …`
# (kitaru/cli/_plugins.py). Each exposes a `typer.Typer` named `app`; register them here, e.g.
#     from kitaru.cli import _stack, _plugins
#     app.add_typer(_stack.app, name="stack")
#     app.add_typer(_plugins.app, name="plugins")
# ---------------------------------------------------------------------------------------------
from kitaru.cli import _plugins, _stack  # noqa: E402

app.add_typer(_stack.app, name="stack")
app.add_typer(_plugins.app, name="plugins")
from kitaru.cli import _auth, _server  # noqa: E402 - server/auth sub-apps (kitaru/cli/_server.py, _auth.py)

app.add_typer(_server.app, name="server")
app.add_typer(_auth.app, name="auth")
app.command("login")(_auth.login_command)
app.command("logout")(_auth.logout_command)
from kitaru.cli import _mcp  # noqa: E402 - `kitaru mcp` (kitaru/cli/_mcp.py; the SDK loads only when run)

app.command("mcp")(_mcp.mcp_command)
from kitaru.cli import _memory  # noqa: E402 - `memory …` (kitaru/cli/_memory.py)

app.add_typer(_memory.app, name="memory")
