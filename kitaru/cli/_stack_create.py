"""`kitaru stack create`: build a stack from flags (Kitaru 0.4's form) or a file, validated like `register`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kitaru.errors import KitaruUsageError

if TYPE_CHECKING:
    from kitaru.plugins import Kind

# --type → orchestrator flavor, and the plugin that provides it
STACK_TYPES = {"local": ("local", None), "kubernetes": ("kubernetes", "kitaru-k8s"),
               "vertex": ("vertex", "kitaru-vertex"), "sagemaker": ("sagemaker", "kitaru-sagemaker")}
_KINDS: tuple[Kind, ...] = ("orchestrator", "artifact_store", "container_registry")
# registry hosts that need a cloud plugin's flavor (credentials come from the cloud identity)
_REGISTRY_HOSTS = ((".dkr.ecr.", "ecr"), ("-docker.pkg.dev", "gar"), (".azurecr.io", "acr"))


def _flavor(kind: Kind, name: str) -> None:
    """Fail with the plugin to install if flavor `name` of `kind` is not installed."""
    from kitaru.plugins import get_plugin_manager

    pm = get_plugin_manager()
    if pm.find_flavor(kind, name) is None:
        raise KitaruUsageError(pm.missing_flavor_message(kind, name))


def artifact_store_for(uri: str) -> dict[str, Any]:
    """`s3://bucket/prefix` → the installed flavor that owns the `s3` scheme (a local path → `local`)."""
    scheme = urlparse(uri).scheme
    if scheme in ("", "file") or len(scheme) == 1:  # a path (or a Windows drive letter)
        path = urlparse(uri).path if scheme == "file" else uri
        return {"flavor": "local", "path": str(Path(path).expanduser())}
    from kitaru.plugins import get_plugin_manager
    from kitaru.plugins._known import install_hint

    flavor = get_plugin_manager().store_flavor_for_scheme(scheme)
    if flavor is None:
        from kitaru.stacks._resolve import _SCHEME_FLAVORS

        known = _SCHEME_FLAVORS.get(scheme)
        hint = install_hint(known) if known else None
        raise KitaruUsageError(f"no installed artifact store reads {scheme}:// URIs; "
                               + (hint or "install the plugin that provides it (see `kitaru plugins list`)"))
    return {"flavor": flavor.name, "path": uri}


def container_registry_for(uri: str) -> dict[str, Any]:
    """A registry URI → `ecr`/`gar`/`acr` for the clouds' registries (their plugin required), else `oci`."""
    host = uri.split("/", 1)[0]
    for marker, flavor in _REGISTRY_HOSTS:
        if marker in host:
            _flavor("container_registry", flavor)
            return {"flavor": flavor, "uri": uri}
    return {"flavor": "oci", "uri": uri}


def parse_extra(items: list[str]) -> dict[str, dict[str, Any]]:
    """`orchestrator.pod_settings.x=y` → {"orchestrator": {"pod_settings": {"x": "y"}}} (values parsed as JSON)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        parts = [p for p in key.strip().split(".") if p]
        kind = parts[0].replace("-", "_") if parts else ""
        if not sep or len(parts) < 2 or kind not in _KINDS:
            raise KitaruUsageError(f"--extra {item!r}: use COMPONENT.FIELD=VALUE with COMPONENT one of"
                                   f" {', '.join(_KINDS)}, e.g. --extra orchestrator.pod_settings.cpu=2")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = out.setdefault(kind, {})
        for part in parts[1:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise KitaruUsageError(f"--extra {item!r} conflicts with an earlier --extra for {part!r}")
            node = nxt
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else value
    return merged


def build_spec(name: str | None, *, file: Path | None, stack_type: str | None, artifact_store: str | None,
               container_registry: str | None, cluster: str | None, region: str | None, namespace: str | None,
               extra: list[str]) -> dict[str, Any]:
    """The stack spec the flags describe (on top of FILE's, when given); not validated yet."""
    spec: dict[str, Any] = {}
    if file is not None:
        from kitaru.stacks._yaml import load_yaml

        try:
            data, _ = load_yaml(file.read_text(), str(file))
        except OSError as exc:
            raise KitaruUsageError(f"cannot read stack file {file}: {exc.strerror or exc}") from None
        if not isinstance(data, dict):
            raise KitaruUsageError(f"{file}: a stack file is a mapping with name, orchestrator, artifact_store")
        spec = dict(data)
    if name:
        spec["name"] = name
    if not spec.get("name"):
        raise KitaruUsageError("give the stack a name: `kitaru stack create NAME …` (or `name:` in the -f file)")
    if stack_type is not None:
        key = stack_type.strip().lower()
        if key not in STACK_TYPES:
            raise KitaruUsageError(f"--type {stack_type!r}: use one of {', '.join(STACK_TYPES)}")
        flavor, _ = STACK_TYPES[key]
        _flavor("orchestrator", flavor)
        spec["orchestrator"] = {"flavor": flavor}
    orchestrator = dict(spec.get("orchestrator") or {"flavor": "local"})
    for field, value in (("cluster", cluster), ("region", region), ("namespace", namespace)):
        if value is not None:
            orchestrator[field] = value
    spec["orchestrator"] = orchestrator
    if artifact_store is not None:
        spec["artifact_store"] = artifact_store_for(artifact_store)
    spec.setdefault("artifact_store", {"flavor": "local"})
    if container_registry is not None:
        spec["container_registry"] = container_registry_for(container_registry)
    for kind, values in parse_extra(extra).items():
        if not isinstance(spec.get(kind), dict):
            raise KitaruUsageError(f"--extra sets {kind} fields but the stack has no {kind}; add one first")
        spec[kind] = _merge(spec[kind], values)
    for kind in _KINDS:
        component = spec.get(kind)
        if isinstance(component, dict) and component.get("flavor"):
            _flavor(kind, str(component["flavor"]))
    return spec


def create(spec: dict[str, Any], *, activate: bool) -> tuple[Any, str]:
    """Validate and store the spec (nothing is stored on error); returns (StackInfo, previous active stack)."""
    from kitaru.stacks import list_stacks
    from kitaru.stacks._service import _store
    from kitaru.stacks._validate import validate_spec

    previous = next((s.name for s in list_stacks() if s.active), "default")
    if any(s.name == spec["name"] for s in list_stacks()):
        raise KitaruUsageError(f"stack {spec['name']!r} already exists; delete it first or pick another name")
    valid = validate_spec(spec, source=f"kitaru stack create {spec['name']}")
    return _store(valid, activate, None), previous
