"""Turn a stack name or a stored blob's store root into a live artifact store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from kitaru.artifacts import ArtifactStore, LocalArtifactStore
from kitaru.errors import KitaruUsageError

DEFAULT_STACK = "default"


def artifact_store_for_stack(stack: str | None, home: Path) -> ArtifactStore:
    """The artifact store of `stack` (the built-in default: `<home>/artifacts`)."""
    if stack in (None, DEFAULT_STACK):
        return LocalArtifactStore(home / "artifacts")
    raise KitaruUsageError(f"stack {stack!r} is not registered; list stacks with `kitaru stack list`")


def store_from_root(root: str) -> ArtifactStore:
    """The artifact store a blob ref points at, from its recorded root URI."""
    parsed = urlparse(root)
    if parsed.scheme == "file":
        return LocalArtifactStore(unquote(parsed.path))
    raise KitaruUsageError(
        f"no installed artifact store can read {root!r}; install the plugin for {parsed.scheme!r} (`kitaru plugins list`)"
    )
