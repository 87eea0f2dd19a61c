"""Validate a stack spec against each component flavor's pydantic config model."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from kitaru.plugins import KINDS, Kind, get_plugin_manager
from kitaru.stacks._secrets import is_secret_field, is_secret_ref, placeholder
from kitaru.stacks._service import DEFAULT_STACK
from kitaru.stacks._yaml import Path_, StackSpecError, line_of

REQUIRED = ("orchestrator", "artifact_store")
TOP_LEVEL = ("name", "description", "labels", *KINDS, "settings")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class _Problems:
    """Collects `file:line: field: message` entries."""

    def __init__(self, source: str, lines: dict[Path_, int]) -> None:
        self.source, self.lines = source, lines
        self.items: list[str] = []

    def add(self, path: Path_, message: str) -> None:
        line = line_of(self.lines, path)
        where = f"{self.source}:{line}" if line else self.source
        field = ".".join(str(p) for p in path) or "(top level)"
        self.items.append(f"{where}: {field}: {message}")


def validate_spec(data: Any, *, source: str = "<stack>", lines: dict[Path_, int] | None = None,
                  allow_default: bool = False) -> dict[str, Any]:
    """Check a whole spec; return it normalized or raise StackSpecError listing every problem."""
    p = _Problems(source, lines or {})
    if not isinstance(data, dict):
        p.add((), "a stack spec must be a mapping with name, orchestrator and artifact_store")
        raise StackSpecError(p.items)
    for key in data:
        if key not in TOP_LEVEL:
            p.add((key,), f"unknown key; valid keys: {', '.join(TOP_LEVEL)}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        p.add(("name",), "required: letters, digits, '_', '.', '-' (at most 63 characters)")
    elif name == DEFAULT_STACK and not allow_default:
        p.add(("name",), "'default' is the built-in local stack and cannot be replaced; choose another name")
    out: dict[str, Any] = {"name": name}
    if "description" in data:
        out["description"] = str(data["description"])
    if data.get("labels") is not None:
        labels = data["labels"]
        if not isinstance(labels, dict) or not all(isinstance(k, str) and k for k in labels):
            p.add(("labels",), "must be a mapping of names to values")
        else:
            out["labels"] = {k: str(v) for k, v in labels.items()}
    for kind in KINDS:
        if kind not in data or data[kind] is None:
            if kind in REQUIRED:
                p.add((kind,), "required: a mapping with at least `flavor`")
            continue
        component = _component(kind, data[kind], p)
        if component is not None:
            out[kind] = component
    if data.get("settings") is not None:
        out["settings"] = _settings(data["settings"], p)
    _check_remote_store(out, p)
    if p.items:
        raise StackSpecError(p.items)
    return out


def _component(kind: Kind, raw: Any, p: _Problems) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("flavor"), str):
        p.add((kind,) if not isinstance(raw, dict) else (kind, "flavor"), "required: the flavor name (e.g. `flavor: local`)")
        return None
    pm = get_plugin_manager()
    flavor = pm.find_flavor(kind, raw["flavor"])
    if flavor is None:
        p.add((kind, "flavor"), pm.missing_flavor_message(kind, raw["flavor"]))
        return None
    config = {k: v for k, v in raw.items() if k != "flavor"}
    probe: dict[str, Any] = {}
    before = len(p.items)
    for field, value in config.items():
        if is_secret_ref(value):
            probe[field] = placeholder(value)
        elif isinstance(value, dict) and "secret" in value:
            p.add((kind, field), "a secret reference is `{secret: NAME}` or `{secret: NAME, key: KEY}`")
        elif is_secret_field(field, flavor.config) and value not in (None, ""):
            p.add((kind, field), "plaintext secrets are not allowed in stacks; store it with"
                                 f" `kitaru secrets set NAME --{field}=...` and write `{field}: {{secret: NAME}}`")
        else:
            probe[field] = value
    try:
        flavor.config.model_validate(probe)
    except ValidationError as exc:
        for err in exc.errors():
            p.add((kind, *err["loc"]), f"{err['msg']} (flavor {flavor.name!r} from {flavor.distribution or flavor.plugin})")
    return {"flavor": flavor.name, **config} if len(p.items) == before else None


def _check_remote_store(spec: dict[str, Any], p: _Problems) -> None:
    """A remote orchestrator's jobs cannot read a directory on this machine: they need a cloud store."""
    orchestrator, store = spec.get("orchestrator"), spec.get("artifact_store")
    if not orchestrator or not store:
        return
    pm = get_plugin_manager()
    flavor = pm.find_flavor("orchestrator", orchestrator["flavor"])
    store_flavor = pm.find_flavor("artifact_store", store["flavor"])
    if flavor is not None and flavor.remote and store_flavor is not None and "file" in store_flavor.schemes:
        p.add(("artifact_store", "flavor"),
              f"the {flavor.name!r} orchestrator runs jobs on other machines, which cannot reach a local directory;"
              " use a cloud store: s3://… (pip install kitaru-s3), gs://… (kitaru-gcs) or az://… (kitaru-azure)")


def _settings(raw: Any, p: _Problems) -> dict[str, Any]:
    from kitaru.config._models import KitaruConfig

    if not isinstance(raw, dict):
        p.add(("settings",), "must be a mapping of Kitaru configuration options")
        return {}
    if "stack" in raw:
        p.add(("settings", "stack"), "a stack cannot select another stack")
    from kitaru.config._models import ConfigValidationError

    try:
        KitaruConfig.model_validate({k: v for k, v in raw.items() if k != "stack"})
    except ConfigValidationError as exc:
        for loc, msg in exc.problems:
            p.add(("settings", *loc), msg)
    return dict(raw)


def stack_problems(spec: dict[str, Any]) -> list[str]:
    """Why a stored stack cannot run now (e.g. its plugin was uninstalled); empty if it can."""
    try:
        validate_spec(spec, source=f"stack {spec.get('name')!r}", allow_default=True)
    except StackSpecError as exc:
        return [s.split(": ", 1)[1] if s.startswith("stack ") else s for s in exc.problems]
    return []
