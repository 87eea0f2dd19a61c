"""Which ImageSettings a build or a dispatch uses, and registry credentials for pushing."""

from __future__ import annotations

from typing import Any

from kitaru.errors import KitaruUsageError


def settings_for_build(target: str | None, stack: str | None, overrides: dict[str, Any] | None) -> tuple[Any, Any]:
    """(ImageSettings or None, the ResolvedStack) for `kitaru build`: the flow's, else the project's."""
    from kitaru.config._models import ImageSettings
    from kitaru.config._resolve import resolve_config
    from kitaru.stacks import resolve_stack, stack_layer

    options: dict[str, Any] = {}
    if target:
        from kitaru.cli._run import load_target

        options = dict(load_target(target).options)
    run = {"stack": stack} if stack else {}
    config = resolve_config(options, run, stack_layer=stack_layer(options, run))
    settings = config.image
    if overrides:
        base = settings.model_dump() if settings is not None else {}
        settings = ImageSettings.model_validate({**base, **overrides})
    return settings, resolve_stack(config.stack)


def registry_credentials(stack: Any) -> Any:
    """Push credentials of the stack's container registry (None: no registry, or anonymous); connected to a
    server, brokered by it (the registry's identity and secrets stay there)."""
    if not (stack.spec.get("container_registry") or {}).get("flavor"):
        return None
    server = stack.state.server
    if server is not None:
        from kitaru.plugins import RegistryCredentials

        raw = server.mint_credentials(stack.name, component="container_registry", access="write")
        v = raw["values"]
        return RegistryCredentials(v["registry"], v["username"], v["password"], "push")
    registry = stack.container_registry
    try:
        return registry.credentials("push")
    except Exception as exc:  # e.g. no cloud identity here: say what to do
        raise KitaruUsageError(f"cannot get push credentials for registry {registry.uri}: {exc}; log in to it"
                               " with your build tool, then run `kitaru build` again") from exc


def dispatch_image(config: Any, stack: Any, root: Any = None) -> str | None:
    """The image a remote job runs for this configuration (None: the orchestrator's configured image)."""
    if config.image is None:
        return None
    from kitaru.images._dockerfile import job_image

    return job_image(config.image, spec=stack.spec, registry=stack.container_registry, root=root)
