"""Write fake installed distributions (dist-info + module) so entry-point discovery can be tested."""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_dist(root: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """Create `<root>/<dist>-<version>.dist-info` with kitaru entry points, and the modules' sources."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    eps = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[kitaru]\n{eps}\n")
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
