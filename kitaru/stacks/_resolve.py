"""Turn a stack name into live components, and a blob's recorded store root back into a store."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kitaru.errors import KitaruError, KitaruUsageError

if TYPE_CHECKING:
    from kitaru.artifacts import ArtifactStore
    from kitaru.plugins import Access, ContainerRegistry, CredentialBroker, Credentials, Kind, Orchestrator
    from kitaru.store import StateStore

_SCHEME_FLAVORS = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}
_lock = threading.RLock()
_stacks: dict[tuple[str, str, int], tuple[str, ResolvedStack]] = {}
_by_root: dict[str, tuple[str | None, ArtifactStore]] = {}  # root → (the stack whose spec built it, or None: config-free; store)
log = logging.getLogger("kitaru.stacks")


class ResolvedStack:
    """A stack whose components are built on first access (secrets resolved, configs validated)."""

    def __init__(self, name: str, spec: dict[str, Any], home: Path, state: StateStore) -> None:
        self.name, self.spec, self.home, self.state = name, spec, home, state
        self._built: dict[str, Any] = {}

    def component(self, kind: Kind) -> Any:
        """The live component of `kind` (built by its flavor's factory), or None if the stack has none."""
        with _lock:
            if kind not in self._built:
                raw = self.spec.get(kind)
                self._built[kind] = None if raw is None else build_component(kind, raw, self.name, self.home, self.state)
            return self._built[kind]

    @property
    def orchestrator(self) -> Orchestrator:
        """The stack's orchestrator (every valid spec has one)."""
        orchestrator: Orchestrator = self.component("orchestrator")
        return orchestrator

    @property
    def artifact_store(self) -> ArtifactStore:
        """The stack's artifact store (also remembered by its root for `store_from_root`)."""
        store: ArtifactStore = self.component("artifact_store")  # every valid spec has one
        with _lock:  # the latest spec's store wins: a re-registered stack's readers get the new one
            _by_root[store.root] = (None if store.root.startswith("file://") else self.name, store)
        return store

    def code_store(self) -> ArtifactStore:
        """The artifact store as the code shipper uses it: connected to a server, with credentials for the
        content-addressed code area only (members may write there; everything else is a runtime's)."""
        from kitaru.store import is_remote

        if not is_remote(self.state):
            return self.artifact_store
        with _lock:
            if "code_store" not in self._built:  # built once: its clients and credentials serve every run
                self._built["code_store"] = build_component("artifact_store", self.spec["artifact_store"], self.name,
                                                            self.home, self.state, scope="code")
            code_store: ArtifactStore = self._built["code_store"]
            return code_store

    @property
    def container_registry(self) -> ContainerRegistry | None:
        """The stack's container registry, if it has one."""
        registry: ContainerRegistry | None = self.component("container_registry")
        return registry


def build_component(kind: Kind, raw: dict[str, Any], stack: str, home: Path, state: StateStore,
                    scope: str = "") -> Any:
    """Validate one component's config (secret references resolved) and build it with its flavor's factory
    (connected to a server: with credentials it brokers, for `scope` inside the component)."""
    if kind == "artifact_store" and raw == {"flavor": "local"}:
        from kitaru.artifacts import LocalArtifactStore

        return LocalArtifactStore(home / "artifacts")  # the built-in default: no plugin discovery on the hot path
    if kind == "orchestrator" and raw == {"flavor": "local"}:
        from kitaru.plugins._local_jobs import LocalOrchestrator

        return LocalOrchestrator(home / "jobs")
    from pydantic import ValidationError

    from kitaru.plugins import ComponentContext, get_plugin_manager
    from kitaru.stacks._secrets import is_secret_ref, resolve_refs

    flavor = get_plugin_manager().flavor(kind, raw["flavor"])
    broker = server_broker(state, stack, kind, scope) if kind in ("artifact_store", "orchestrator") else None
    fields = {k: v for k, v in raw.items() if k != "flavor"}
    if (broker is not None or kind == "container_registry") and not getattr(state, "reads_secrets", True):
        # a user's process on a server never sees secret values: it acts with brokered credentials instead
        fields = {k: v for k, v in fields.items() if not is_secret_ref(v)}
    values = resolve_refs(fields, state.get_secret, f"stack {stack!r} {kind}")
    try:
        config = flavor.config.model_validate(values)
    except ValidationError as exc:
        raise KitaruUsageError(f"stack {stack!r} {kind} ({flavor.name}) is invalid: {exc}") from None
    return flavor.factory(config, ComponentContext(home=home, stack=stack, broker=broker))


def server_broker(state: StateStore, stack: str, kind: Kind, scope: str = "") -> CredentialBroker | None:
    """Credentials for a component minted by the Kitaru server this process is connected to (None if embedded).

    Runtimes and clients never need cloud credentials of their own: the server mints them, scoped to
    the stack's store and limited in time (an execution-scoped token may mint only for its own stack).
    """
    server = state.server
    if server is None:
        return None

    def broker(access: Access) -> Credentials:
        from datetime import datetime

        from kitaru.config._tunables import tunables
        from kitaru.plugins import Credentials
        from kitaru.store import acting_state

        # while an execution runs here, mint with its runtime token: write credentials go only to runtimes
        acting = acting_state() if kind == "artifact_store" else None  # dispatching is the user's act, never a runtime's
        link = acting.server if acting is not None else None
        source = link if link is not None and link.url == server.url else server
        raw = source.mint_credentials(stack, component=kind, access=access, scope=scope, ttl=tunables().brokered_ttl)
        return Credentials(raw["flavor"], raw["access"], raw["scope"], datetime.fromisoformat(raw["expires_at"]),
                           raw["values"])

    return broker


def resolve_stack(name: str | None = None, *, home: Path | None = None, state: StateStore | None = None) -> ResolvedStack:
    """The live stack `name` (None: the selected one); KitaruUsageError says why it cannot run."""
    from kitaru.config._paths import resolve_home
    from kitaru.stacks._service import DEFAULT_STACK, selected_stack_name, stored_spec
    from kitaru.store import open_state

    home = home or resolve_home()
    state = state or open_state(home)
    name = name or selected_stack_name(state)
    spec = stored_spec(name, state)
    if spec is None:
        raise KitaruUsageError(f"stack {name!r} is not registered; see `kitaru stack list` or register it with"
                               " `kitaru stack register -f stack.yaml`")
    # one live stack per identity: its components broker credentials as the state (the principal) they were built for
    key, fingerprint = (str(home), name, id(state)), json.dumps(spec, sort_keys=True)
    with _lock:
        cached = _stacks.get(key)
        if cached is not None and cached[0] == fingerprint and cached[1].state is state:
            return cached[1]
        if name != DEFAULT_STACK:  # the built-in default is always valid; skip loading every plugin
            from kitaru.stacks._validate import stack_problems

            problems = stack_problems(spec)
            if problems:
                raise KitaruUsageError(f"stack {name!r} cannot run: " + "; ".join(problems))
        resolved = ResolvedStack(name, spec, home, state)
        _stacks[key] = (fingerprint, resolved)
        return resolved


def forget_cached(name: str) -> None:
    """Drop cached live components of a stack that was re-registered or deleted (and the stores they serve)."""
    with _lock:
        for key in [k for k in _stacks if k[1] == name]:
            del _stacks[key]
        for root in [r for r, (stack, _) in _by_root.items() if stack == name]:
            del _by_root[root]


def artifact_store_for_stack(stack: str | None, home: Path) -> ArtifactStore:
    """The artifact store of `stack` (None: the selected stack; `default`: `<home>/artifacts`)."""
    return resolve_stack(stack, home=home).artifact_store


def store_from_root(root: str) -> ArtifactStore:
    """The artifact store a blob ref points at, from its recorded root URI (any installed flavor)."""
    with _lock:
        cached = _by_root.get(root)
        if cached is not None:
            stack, store = cached
            current = store if stack is None else _current_store(stack, root)  # re-registered elsewhere? re-read
            if current is not None:
                return current
            _by_root.pop(root, None)
        if root.startswith("file://"):  # the built-in local store needs no plugin discovery
            from urllib.parse import unquote

            from kitaru.artifacts import LocalArtifactStore

            local = LocalArtifactStore(unquote(urlparse(root).path))
            _by_root[root] = (None, local)
            return local
        found = _from_stacks(root)
        if found is None:
            found = _from_flavor(root)
            _by_root[root] = (None, found)
        return found


def registered_store(root: str) -> ArtifactStore | None:
    """The cloud store of a registered stack whose root is `root`, or None: never a store built from a recorded
    root alone (what may sign storage URLs or read with this process's identity must be a stack's own)."""
    with _lock:
        return _from_stacks(root)


def _current_store(stack: str, root: str) -> ArtifactStore | None:
    """The store of `stack` as its spec is now (resolve_stack re-reads the spec), if it still has this root."""
    try:
        store = resolve_stack(stack).artifact_store
    except KitaruError as exc:  # deleted, or no longer valid: look for the root again
        log.debug("stack %r no longer serves %s: %s", stack, root, exc)
        return None
    return store if store.root == root else None


def _from_stacks(root: str) -> ArtifactStore | None:
    """A registered stack's store with this root (it carries endpoint, region and secrets)."""
    from kitaru.plugins import get_plugin_manager
    from kitaru.stacks._service import list_stacks

    flavor = get_plugin_manager().store_flavor_for_scheme(urlparse(root).scheme)
    if flavor is None or "file" in flavor.schemes:
        return None
    for info in list_stacks():
        if info.ready and info.flavor("artifact_store") == flavor.name:
            try:
                store = resolve_stack(info.name).artifact_store
            except KitaruError as exc:  # e.g. a missing secret: try the next stack
                log.info("stack %r cannot serve %s: %s", info.name, root, exc)
                continue
            if store.root == root:
                return store
    return None


def _from_flavor(root: str) -> ArtifactStore:
    from kitaru.plugins import get_plugin_manager, install_hint

    scheme = urlparse(root).scheme
    pm = get_plugin_manager()
    flavor = pm.store_flavor_for_scheme(scheme)
    if flavor is not None and flavor.from_root is not None:
        return flavor.from_root(root)
    known = _SCHEME_FLAVORS.get(scheme)
    hint = (pm.missing_flavor_message("artifact_store", known) if known else None) or install_hint(scheme or "")
    raise KitaruUsageError(f"no installed artifact store can read {root!r}; "
                           + (hint or f"install the plugin for {scheme!r} URIs (see `kitaru plugins list`)"))


def stack_layer(*layers: dict[str, Any] | None) -> dict[str, Any]:
    """The configuration layer of the stacks: the active stack's name + the selected stack's `settings`."""
    from kitaru.config._resolve import resolve_config
    from kitaru.stacks._service import active_stack_name, stored_spec
    from kitaru.store import current_state

    state = current_state()
    active = active_stack_name(state)
    explicit = next((layer["stack"] for layer in reversed(layers) if layer and layer.get("stack")), None)
    selected = explicit or resolve_config(stack_layer={"stack": active}).stack or active
    spec = stored_spec(selected, state) or {}
    settings = {k: v for k, v in (spec.get("settings") or {}).items() if k != "stack"}
    return {**settings, "stack": active}
