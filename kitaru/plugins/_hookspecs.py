"""The hooks a Kitaru plugin implements (pluggy project name: "kitaru")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from kitaru.artifacts import SerializerRegistry
    from kitaru.plugins._registry import ComponentRegistry

PROJECT = "kitaru"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class KitaruHookSpecs:
    """Hook specifications; each is called once per plugin by the facade."""

    @hookspec
    def kitaru_register_components(self, registry: ComponentRegistry) -> None:
        """Register orchestrator, artifact store and container registry flavors."""

    @hookspec
    def kitaru_register_serializers(self, registry: SerializerRegistry) -> None:
        """Register serializers that take precedence over the built-ins."""

    @hookspec
    def kitaru_cli(self, app: Any) -> None:
        """Add top-level commands or sub-apps to `app` (a `typer.Typer`); called only when a plugin command runs.

        Declare each name in the entry-point group `kitaru.cli` (`k8s = "kitaru_k8s"`) so `kitaru --help`
        lists it without loading plugins (kitaru/cli/_extensions.py).
        """
