"""Stack registration and selection over the state store (the SDK helpers and the CLI use these)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruUsageError

if TYPE_CHECKING:
    from kitaru.store import StateStore

ACTIVE_KEY = "active_stack"
DEFAULT_STACK = "default"  # the built-in stack (defined here: _validate loads plugins, so it is imported lazily)
_ID_NAMESPACE = uuid.UUID("5b0c7c1e-4f1a-4c53-9d51-6b6974617275")  # stack ids: uuid5 of the name, stable everywhere


@dataclass(frozen=True)
class StackInfo:
    """A registered stack: its spec, whether it is active/built-in, and why it cannot run (if so)."""

    name: str
    spec: dict[str, Any]
    active: bool = False
    builtin: bool = False
    problems: list[str] = field(default_factory=list)
    created_at: float | None = None
    updated_at: float | None = None

    @property
    def id(self) -> str:
        """A stable id (derived from the name; a stack's name is its identity in the state store)."""
        return stack_id(self.name)

    @property
    def is_active(self) -> bool:
        """Whether runs use this stack by default (Kitaru 0.4's name for `active`)."""
        return self.active

    @property
    def labels(self) -> dict[str, str]:
        """Free-form labels given at creation."""
        return dict(self.spec.get("labels") or {})

    @property
    def ready(self) -> bool:
        """Whether every component's flavor is installed and its config valid."""
        return not self.problems

    def flavor(self, kind: str) -> str | None:
        """The flavor of one component (`orchestrator`, `artifact_store`, `container_registry`)."""
        component = self.spec.get(kind)
        return component.get("flavor") if isinstance(component, dict) else None

    def as_dict(self) -> dict[str, Any]:
        """JSON form (secret references stay references)."""
        return {"id": self.id, "name": self.name, "is_active": self.active, "active": self.active,
                "builtin": self.builtin, "ready": self.ready,
                "problems": self.problems, "spec": self.spec, "created_at": self.created_at,
                "updated_at": self.updated_at}


def stack_id(name: str) -> str:
    """The id of the stack called `name`."""
    return str(uuid.uuid5(_ID_NAMESPACE, name))


def default_spec() -> dict[str, Any]:
    """The built-in `default` stack: local orchestrator + local artifact store at `<home>/artifacts`."""
    return {"name": DEFAULT_STACK, "description": "local orchestrator + local artifact store (<home>/artifacts)",
            "orchestrator": {"flavor": "local"}, "artifact_store": {"flavor": "local"}}


def _state(state: StateStore | None) -> StateStore:
    if state is not None:
        return state
    from kitaru.store import current_state

    return current_state()


def stored_spec(name: str, state: StateStore | None = None) -> dict[str, Any] | None:
    """The spec of a stack (the built-in default included), or None."""
    if name == DEFAULT_STACK:
        return default_spec()
    row = _state(state).get_stack(name)
    return dict(row["spec"]) if row else None


def active_stack_name(state: StateStore | None = None) -> str:
    """The stack chosen with `kitaru stack set` (default if none or if it was deleted)."""
    st = _state(state)
    name = st.get_setting(ACTIVE_KEY)
    return name if isinstance(name, str) and (name == DEFAULT_STACK or st.get_stack(name)) else DEFAULT_STACK


def _info(name: str, spec: dict[str, Any], active: str, row: dict[str, Any] | None = None) -> StackInfo:
    from kitaru.stacks._validate import stack_problems

    return StackInfo(name, spec, name == active, name == DEFAULT_STACK, stack_problems(spec),
                     row.get("created_at") if row else None, row.get("updated_at") if row else None)


def list_stacks(state: StateStore | None = None) -> list[StackInfo]:
    """Every stack, `default` first; stacks whose plugin is missing are listed with their problems."""
    st = _state(state)
    active = active_stack_name(st)
    rows = [r for r in st.list_stacks() if r["name"] != DEFAULT_STACK]
    return [_info(DEFAULT_STACK, default_spec(), active)] + [_info(r["name"], dict(r["spec"]), active, r) for r in rows]


def get_stack(name: str, state: StateStore | None = None) -> StackInfo:
    """One stack by name; KitaruUsageError if it is not registered."""
    st = _state(state)
    if name == DEFAULT_STACK:
        return _info(name, default_spec(), active_stack_name(st))
    row = st.get_stack(name)
    if row is None:
        raise KitaruUsageError(f"stack {name!r} is not registered; see `kitaru stack list` or register it with"
                               " `kitaru stack register -f stack.yaml`")
    return _info(name, dict(row["spec"]), active_stack_name(st), row)


def selected_stack_name(state: StateStore | None = None) -> str:
    """The stack a run uses without an explicit `stack=`: configure/env/pyproject, else the active one."""
    from kitaru.config._resolve import resolve_config

    active = active_stack_name(state)
    return resolve_config(stack_layer={"stack": active}).stack or active


def current_stack(state: StateStore | None = None) -> StackInfo:
    """The stack runs use by default (KITARU_STACK / configure / pyproject win over `stack set`)."""
    return get_stack(selected_stack_name(state), state)


def use_stack(name: str, state: StateStore | None = None) -> StackInfo:
    """Make `name` the active stack (`kitaru stack set NAME`)."""
    st = _state(state)
    info = get_stack(name, st)
    st.put_setting(ACTIVE_KEY, name)
    return StackInfo(**{**info.__dict__, "active": True})


def register_stack(source: str | os.PathLike[str], *, activate: bool = False, text: str | None = None,
                   state: StateStore | None = None) -> StackInfo:
    """Validate a stack YAML file (or `text`, named `source`) and store it; nothing is stored on error."""
    if text is None:
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as exc:
            raise KitaruUsageError(f"cannot read stack file {path}: {exc.strerror or exc}") from None
    from kitaru.stacks._validate import validate_spec
    from kitaru.stacks._yaml import load_yaml

    data, lines = load_yaml(text, str(source))
    return _store(validate_spec(data, source=str(source), lines=lines), activate, state)


def create_stack(
    name: str, *, orchestrator: dict[str, Any] | None = None, artifact_store: dict[str, Any] | None = None,
    container_registry: dict[str, Any] | None = None, settings: dict[str, Any] | None = None,
    description: str | None = None, activate: bool = True, labels: dict[str, Any] | None = None,
    state: StateStore | None = None,
) -> StackInfo:
    """Register a stack from Python (components default to the local flavors) and, as in Kitaru 0.4,
    make it the active stack unless `activate=False`."""
    data: dict[str, Any] = {"name": name, "orchestrator": orchestrator or {"flavor": "local"},
                            "artifact_store": artifact_store or {"flavor": "local"}}
    if description:
        data["description"] = description
    if labels is not None:
        data["labels"] = labels
    if container_registry:
        data["container_registry"] = container_registry
    if settings:
        data["settings"] = settings
    from kitaru.stacks._validate import validate_spec

    return _store(validate_spec(data, source=f"create_stack({name!r})"), activate, state)


def _store(spec: dict[str, Any], activate: bool, state: StateStore | None) -> StackInfo:
    st = _state(state)
    require_server_for_remote(spec, st)
    st.put_stack(spec["name"], spec)
    if activate:
        st.put_setting(ACTIVE_KEY, spec["name"])
    from kitaru.stacks._resolve import forget_cached

    forget_cached(spec["name"])
    return get_stack(spec["name"], st)


def require_server_for_remote(spec: dict[str, Any], state: StateStore) -> None:
    """A stack with a remote orchestrator lives on a Kitaru server: its jobs report there, not to this laptop."""
    from kitaru.store import is_remote

    flavor = (spec.get("orchestrator") or {}).get("flavor", "local")
    if flavor == "local" or is_remote(state):
        return
    from kitaru.plugins import get_plugin_manager

    found = get_plugin_manager().find_flavor("orchestrator", flavor)
    if found is not None and found.remote:
        raise KitaruUsageError(
            f"stack {spec.get('name')!r} runs jobs on {flavor!r}, which report to a Kitaru server; this process uses"
            " the embedded store. Connect first: `kitaru login https://SERVER --api-key KEY` (deploy one with the"
            " Helm chart in charts/kitaru), then register the stack again"
        )


def _name_of(name_or_id: str, st: StateStore) -> str:
    """A stack's name from its name or its id."""
    if name_or_id == DEFAULT_STACK or st.get_stack(name_or_id) is not None:
        return name_or_id
    for info in list_stacks(st):
        if info.id == name_or_id:
            return info.name
    return name_or_id  # get_stack raises the usual "not registered" error


def delete_stack(name_or_id: str, *, recursive: bool = False, force: bool = False,
                 state: StateStore | None = None) -> None:
    """Delete a stack (by name or id); the active one only with `force` (the default stack becomes active).

    `recursive` is accepted for Kitaru 0.4 code: here components live inside their stack, so they always go
    with it."""
    st = _state(state)
    name = _name_of(name_or_id, st)
    if name == DEFAULT_STACK:
        raise KitaruUsageError("the 'default' stack is built in and cannot be deleted")
    get_stack(name, st)
    if active_stack_name(st) == name:
        if not force:
            raise KitaruUsageError(f"stack {name!r} is active; switch with `kitaru stack set default` first,"
                                   " or delete it with --force (the default stack becomes active)")
        st.put_setting(ACTIVE_KEY, DEFAULT_STACK)
    st.delete_stack(name)
    from kitaru.stacks._resolve import forget_cached

    forget_cached(name)


def export_stack(name: str, state: StateStore | None = None) -> str:
    """The stack as YAML that `kitaru stack register -f` accepts (secret references stay references)."""
    from kitaru.stacks._yaml import dump_yaml

    return dump_yaml(get_stack(name, state).spec)
