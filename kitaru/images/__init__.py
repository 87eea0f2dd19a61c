"""Runtime images: a deterministic Dockerfile from `ImageSettings` (Kitaru and the stack's plugins injected),
tagged by a hash of its inputs, built and pushed by `kitaru build` with docker, podman or buildah."""

from __future__ import annotations

from kitaru.images._build import BuildResult, build_image, find_tool
from kitaru.images._dockerfile import DEFAULT_REPOSITORY, ImagePlan, job_image, plan, render, stack_distributions

__all__ = [
    "DEFAULT_REPOSITORY",
    "BuildResult",
    "ImagePlan",
    "build_image",
    "find_tool",
    "job_image",
    "plan",
    "render",
    "stack_distributions",
]
