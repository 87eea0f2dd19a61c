"""The registry object plugins fill through `kitaru_register_components`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from kitaru.errors import KitaruUsageError
from kitaru.plugins._protocols import ArtifactStore, ComponentContext

Kind = Literal["orchestrator", "artifact_store", "container_registry"]
KINDS: tuple[Kind, ...] = ("orchestrator", "artifact_store", "container_registry")
Factory = Callable[[Any, ComponentContext], Any]


@dataclass(frozen=True)
class Flavor:
    """One component flavor: a pydantic config model + a factory building the implementation."""

    kind: Kind
    name: str
    config: type[BaseModel]
    factory: Factory
    plugin: str = ""
    distribution: str | None = None
    description: str = ""
    schemes: tuple[str, ...] = ()
    from_root: Callable[[str], ArtifactStore] | None = None
    remote: bool = False
    """Orchestrators only: jobs run elsewhere (they need a Kitaru server and a cloud artifact store)."""


@dataclass
class ComponentRegistry:
    """Collects flavors; the facade stages each plugin's additions and commits them on success."""

    flavors: dict[tuple[Kind, str], Flavor] = field(default_factory=dict)
    _staged: list[Flavor] = field(default_factory=list)
    _plugin: str = ""
    _distribution: str | None = None

    def add_orchestrator(self, name: str, *, config: type[BaseModel], factory: Factory, description: str = "",
                         remote: bool = False) -> None:
        """Register an orchestrator flavor (factory returns an `Orchestrator`); `remote`: its jobs run on other
        machines, so its stacks need a Kitaru server and an artifact store those machines can reach."""
        self._add(Flavor("orchestrator", name, config, factory, description=description, remote=remote))

    def add_artifact_store(
        self, name: str, *, config: type[BaseModel], factory: Factory, description: str = "",
        schemes: tuple[str, ...] = (), from_root: Callable[[str], ArtifactStore] | None = None,
    ) -> None:
        """Register an artifact store flavor; `schemes`+`from_root` let clients read blobs by root URI."""
        self._add(Flavor("artifact_store", name, config, factory, description=description, schemes=tuple(schemes),
                         from_root=from_root))

    def add_container_registry(
        self, name: str, *, config: type[BaseModel], factory: Factory, description: str = ""
    ) -> None:
        """Register a container registry flavor (factory returns a `ContainerRegistry`)."""
        self._add(Flavor("container_registry", name, config, factory, description=description))

    def _add(self, flavor: Flavor) -> None:
        if not (isinstance(flavor.config, type) and issubclass(flavor.config, BaseModel)):
            raise KitaruUsageError(f"{flavor.kind} flavor {flavor.name!r}: config must be a pydantic model class")
        if not callable(flavor.factory):
            raise KitaruUsageError(f"{flavor.kind} flavor {flavor.name!r}: factory must be callable")
        key = (flavor.kind, flavor.name)
        owner = self.flavors.get(key)
        if owner is not None or any((f.kind, f.name) == key for f in self._staged):
            by = owner.plugin if owner else self._plugin
            raise KitaruUsageError(f"{flavor.kind} flavor {flavor.name!r} is already provided by plugin {by!r}")
        self._staged.append(
            Flavor(**{**flavor.__dict__, "plugin": self._plugin, "distribution": self._distribution})
        )

    def begin(self, plugin: str, distribution: str | None) -> None:
        """Start staging the additions of one plugin."""
        self._staged, self._plugin, self._distribution = [], plugin, distribution

    def commit(self) -> list[Flavor]:
        """Make the staged flavors visible; return them."""
        added, self._staged = self._staged, []
        for f in added:
            self.flavors[(f.kind, f.name)] = f
        return added

    def rollback(self) -> None:
        """Drop the staged flavors of a plugin that failed."""
        self._staged = []
