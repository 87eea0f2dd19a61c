"""Write fake installed distributions (dist-info + module) so entry-point discovery can be tested."""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_dist(root: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str], *,
              cli: dict[str, str] | None = None, summary: str = "") -> None:
    """Create `<root>/<dist>-<version>.dist-info` with kitaru entry points (and `kitaru.cli` command
    declarations), and the modules' sources."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    summary_line = f"Summary: {summary}\n" if summary else ""
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n{summary_line}")
    sections = [("kitaru", entry_points), *([("kitaru.cli", cli)] if cli else [])]
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items()) for group, eps in sections))
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


GOOD = """
from pydantic import BaseModel, ConfigDict
from kitaru.plugins import hookimpl

class MemConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bucket: str
    size: int = 1

class Upper:
    name = "upper"
    def can_dump(self, value): return isinstance(value, str) and value.isupper() and value.startswith("UP:")
    def dump(self, value): return value.encode(), None
    def load(self, data, type_ref): return data.decode()

@hookimpl
def kitaru_register_components(registry):
    registry.add_artifact_store("mem", config=MemConfig, factory=lambda c, ctx: ("mem", c), schemes=("mem",))

@hookimpl
def kitaru_register_serializers(registry):
    registry.register(Upper())
"""

BROKEN_IMPORT = """
import kitaru_dependency_that_is_not_installed
"""

HALF = """
from pydantic import BaseModel
from kitaru.plugins import hookimpl

class C(BaseModel):
    x: int = 0

@hookimpl
def kitaru_register_components(registry):
    registry.add_orchestrator("half-orch", config=C, factory=lambda c, ctx: None)
    raise RuntimeError("second flavor failed")
"""

DUPLICATE = """
from pydantic import BaseModel
from kitaru.plugins import hookimpl

class C(BaseModel):
    pass

@hookimpl
def kitaru_register_components(registry):
    registry.add_artifact_store("local", config=C, factory=lambda c, ctx: None)
"""

CLI_PLUGIN = """
import os, pathlib
import typer
from kitaru.plugins import hookimpl

pathlib.Path(os.environ["KITARU_TEST_MARKS"]).joinpath("imported").touch()  # proves when the plugin loads

greet = typer.Typer(help="Greetings.", no_args_is_help=True)

@greet.command("hello")
def hello(name: str = typer.Option("world", "--name")) -> None:
    \"\"\"Say hello.\"\"\"
    typer.echo(f"hello {name} from a plugin")

def shout(word: str) -> None:
    \"\"\"An undeclared command: runs, but --help does not list it.\"\"\"
    typer.echo(word.upper())

@hookimpl
def kitaru_cli(app):
    app.add_typer(greet, name="greet")
    app.command("shout")(shout)
"""

CLI_BROKEN = """
from kitaru.plugins import hookimpl

@hookimpl
def kitaru_cli(app):
    raise RuntimeError("cli hook exploded")
"""
