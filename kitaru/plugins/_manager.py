"""The typed facade over pluggy: lazy entry-point discovery, block list, failure records."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

import pluggy

from kitaru.errors import KitaruUsageError
from kitaru.plugins._hookspecs import PROJECT, KitaruHookSpecs
from kitaru.plugins._known import KNOWN_FLAVORS, install_hint
from kitaru.plugins._registry import ComponentRegistry, Flavor, Kind

GROUP = "kitaru"
BUILTIN = "local"
_BUILTIN_MODULE = "kitaru.plugins._local"


@dataclass
class PluginInfo:
    """One discovered plugin: where it comes from, whether it loaded, what it provides."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool = False
    status: Literal["loaded", "failed", "disabled"] = "loaded"
    error: str | None = None
    flavors: list[tuple[Kind, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON form for `kitaru plugins list -o json`."""
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "builtin": self.builtin, "status": self.status, "error": self.error,
                "flavors": [{"kind": k, "name": n} for k, n in self.flavors]}


def disabled_plugins() -> tuple[set[str], bool]:
    """Names blocked by KITARU_DISABLE_PLUGINS, and whether `all` external plugins are blocked."""
    raw = os.environ.get("KITARU_DISABLE_PLUGINS", "")
    names = {n.strip() for n in raw.split(",") if n.strip()}
    return names - {"all"}, "all" in names


class PluginManager:
    """Discovers plugins on first use and answers typed questions about their flavors."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(KitaruHookSpecs)
        self._registry = ComponentRegistry()
        self._infos: dict[str, PluginInfo] = {}
        self._loaded = False
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- loading
    def load(self) -> PluginManager:
        """Discover and register every plugin once (idempotent, thread-safe)."""
        with self._lock:
            if self._loaded:
                return self
            self._loaded = True
            blocked, block_all = disabled_plugins()
            eps = sorted(metadata.entry_points(group=GROUP), key=lambda e: (e.name != BUILTIN, e.name))
            if not any(e.name == BUILTIN for e in eps):
                self._load_object(BUILTIN, "kitaru", _version("kitaru"), True, lambda: _import(_BUILTIN_MODULE))
            for ep in eps:
                dist = ep.dist.name if ep.dist is not None else None
                builtin = ep.name == BUILTIN or dist == "kitaru"
                if ep.name in self._infos:
                    continue
                if not builtin and (block_all or ep.name in blocked or (dist and dist in blocked)):
                    self._infos[ep.name] = PluginInfo(ep.name, dist, _dist_version(ep), builtin, "disabled",
                                                      "disabled by KITARU_DISABLE_PLUGINS")
                    continue
                self._load_object(ep.name, dist, _dist_version(ep), builtin, ep.load)
            return self

    def register(self, plugin: object, name: str, *, distribution: str | None = None, version: str | None = None) -> None:
        """Register an in-process plugin object (tests, applications); same hooks as entry points."""
        with self._lock:
            self.load()
            self._load_object(name, distribution, version, False, lambda: plugin)

    def _load_object(self, name: str, dist: str | None, version: str | None, builtin: bool, get: Any) -> None:
        info = PluginInfo(name, dist, version, builtin)
        self._infos[name] = info
        try:
            plugin = get()
            self._pm.register(plugin, name=name)
        except Exception as exc:  # a broken plugin never breaks unrelated commands
            info.status, info.error = "failed", f"{type(exc).__name__}: {exc}"
            return
        self._call_registration(name, info, plugin)

    def _call_registration(self, name: str, info: PluginInfo, plugin: object) -> None:
        stage = _SerializerStage()
        for hook, arg in (("kitaru_register_components", self._registry), ("kitaru_register_serializers", stage)):
            for impl in getattr(self._pm.hook, hook).get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                self._registry.begin(name, info.distribution)
                try:
                    impl.function(*[arg for _ in impl.argnames[:1]])
                except Exception as exc:
                    self._registry.rollback()
                    info.status, info.error = "failed", f"{hook} raised {type(exc).__name__}: {exc}"
                    self._forget(name, info)
                    return
                info.flavors += [(f.kind, f.name) for f in self._registry.commit()]
        stage.commit()

    def _forget(self, name: str, info: PluginInfo) -> None:
        for kind, flavor in info.flavors:
            self._registry.flavors.pop((kind, flavor), None)
        info.flavors = []
        self._pm.unregister(name=name)

    # ----------------------------------------------------------------- queries
    def plugins(self) -> list[PluginInfo]:
        """Every discovered plugin (loaded, failed or disabled), built-ins first."""
        self.load()
        return sorted(self._infos.values(), key=lambda i: (not i.builtin, i.name))

    def flavors(self, kind: Kind | None = None) -> list[Flavor]:
        """Registered flavors, optionally of one kind."""
        self.load()
        return sorted((f for f in self._registry.flavors.values() if kind is None or f.kind == kind),
                      key=lambda f: (f.kind, f.name))

    def find_flavor(self, kind: Kind, name: str) -> Flavor | None:
        """The flavor `name` of `kind`, or None."""
        self.load()
        return self._registry.flavors.get((kind, name))

    def flavor(self, kind: Kind, name: str) -> Flavor:
        """The flavor `name` of `kind`, or a KitaruUsageError that says what to install."""
        found = self.find_flavor(kind, name)
        if found is None:
            raise KitaruUsageError(self.missing_flavor_message(kind, name))
        return found

    def missing_flavor_message(self, kind: Kind, name: str) -> str:
        """Why a flavor is unavailable and what to do about it."""
        label = kind.replace("_", " ")
        dist = KNOWN_FLAVORS.get(name)
        for info in self._infos.values():
            if info.status != "loaded" and dist and info.distribution == dist:
                return (f"{label} flavor {name!r} is unavailable: plugin {info.name!r} from {dist} is {info.status}"
                        f" ({info.error}); see `kitaru plugins list`")
        hint = install_hint(name)
        if hint:
            return hint
        known = ", ".join(f.name for f in self.flavors(kind)) or "none"
        return (f"unknown {label} flavor {name!r}; installed {label} flavors: {known}."
                " See `kitaru plugins list` or install the plugin that provides it")

    def store_flavor_for_scheme(self, scheme: str) -> Flavor | None:
        """The artifact store flavor that reads roots with this URI scheme."""
        for f in self.flavors("artifact_store"):
            if scheme in f.schemes:
                return f
        return None

    def extend_cli(self, app: Any) -> list[str]:
        """Let plugins add CLI commands; returns the errors of plugins whose hook failed."""
        self.load()
        errors = []
        for impl in self._pm.hook.kitaru_cli.get_hookimpls():
            try:
                impl.function(app)
            except Exception as exc:
                errors.append(f"plugin {impl.plugin_name!r}: {type(exc).__name__}: {exc}")
        return errors


class _SerializerStage:
    """Collects a plugin's serializers; they reach the global registry only if the plugin loaded."""

    def __init__(self) -> None:
        self.staged: list[Any] = []

    def register(self, serializer: Any) -> None:
        """Stage a serializer (same signature as `SerializerRegistry.register`)."""
        self.staged.append(serializer)

    def commit(self) -> None:
        """Register staged serializers not already present (reloads do not duplicate them)."""
        from kitaru.artifacts import serializers

        for s in self.staged:
            try:
                present = type(serializers.by_name(s.name)) is type(s)
            except KitaruUsageError:
                present = False
            if not present:
                serializers.register(s)


def _import(module: str) -> Any:
    import importlib

    return importlib.import_module(module)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _dist_version(ep: metadata.EntryPoint) -> str | None:
    return ep.dist.version if ep.dist is not None else None


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loaded on first use."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = PluginManager()
    return _manager.load()


def reset_plugin_manager() -> None:
    """Forget discovered plugins (tests, or after installing a plugin in-process)."""
    global _manager
    with _manager_lock:
        _manager = None
