"""`kitaru stack create NAME --type … --artifact-store URI …`: a stack spec from command-line flags."""

from __future__ import annotations

import re
from typing import Any

from kitaru.errors import KitaruUsageError

_KINDS = ("orchestrator", "artifact_store", "container_registry")
_REGISTRY_FLAVORS = ((re.compile(r"\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com"), "ecr"),
                     (re.compile(r"-docker\.pkg\.dev(/|$)"), "gar"), (re.compile(r"\.azurecr\.io(/|$)"), "acr"))


def store_component(uri: str) -> dict[str, Any]:
    """`s3://bucket/prefix` → the artifact store flavor serving that scheme; a plain path → `local`."""
    scheme, sep, _ = uri.partition("://")
    if not sep or scheme == "file":
        return {"flavor": "local", "path": uri.removeprefix("file://")}
    from kitaru.plugins import KNOWN_FLAVORS, get_plugin_manager

    flavor = get_plugin_manager().store_flavor_for_scheme(scheme)
    if flavor is not None:
        return {"flavor": flavor.name, "path": uri}
    hint = {"s3": "s3", "gs": "gcs", "az": "azure", "abfs": "azure"}.get(scheme)
    dist = KNOWN_FLAVORS.get(hint or "")
    raise KitaruUsageError(f"--artifact-store: no installed artifact store serves {scheme}:// URIs"
                           + (f"; install it with `pip install {dist}`" if dist else ""))


def registry_component(uri: str) -> dict[str, Any]:
    """A registry URI → `ecr`, `gar`, `acr` by its host, else the generic `oci` flavor."""
    for pattern, flavor in _REGISTRY_FLAVORS:
        if pattern.search(uri):
            return {"flavor": flavor, "uri": uri}
    return {"flavor": "oci", "uri": uri}


def apply_extra(spec: dict[str, Any], assignment: str) -> None:
    """`orchestrator.pod_settings.node_selector.pool=agents`: set a nested value (parsed as YAML)."""
    import yaml

    path, sep, raw = assignment.partition("=")
    keys = [k for k in path.strip().split(".") if k]
    if not sep or len(keys) < 2 or keys[0] not in _KINDS:
        raise KitaruUsageError(f"--extra {assignment!r}: write COMPONENT.FIELD[.KEY...]=VALUE with COMPONENT one of"
                               f" {', '.join(_KINDS)}, e.g. orchestrator.pod_settings.node_selector.pool=agents")
    if keys[0] not in spec:
        raise KitaruUsageError(f"--extra {assignment!r}: the stack has no {keys[0]}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise KitaruUsageError(f"--extra {assignment!r}: the value is not valid YAML: {exc}") from None
    node = spec[keys[0]]
    for key in keys[1:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise KitaruUsageError(f"--extra {assignment!r}: {key} is not a mapping")
        node = child
    node[keys[-1]] = value


def spec_from_flags(name: str, *, type_: str, artifact_store: str, container_registry: str | None = None,
                    namespace: str | None = None, cluster: str | None = None, region: str | None = None,
                    extra: list[str] | None = None) -> dict[str, Any]:
    """The stack spec the flags describe (validated later like any stack YAML)."""
    orchestrator: dict[str, Any] = {"flavor": type_}
    for key, value in (("namespace", namespace), ("cluster", cluster), ("region", region)):
        if value is not None:
            orchestrator[key] = value
    spec: dict[str, Any] = {"name": name, "orchestrator": orchestrator,
                            "artifact_store": store_component(artifact_store)}
    if container_registry:
        spec["container_registry"] = registry_component(container_registry)
    for assignment in extra or []:
        apply_extra(spec, assignment)
    return spec
