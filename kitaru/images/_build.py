"""`kitaru build`: build and push the runtime image with docker, podman or buildah; else write the Dockerfile."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruBackendError
from kitaru.images._dockerfile import ImagePlan

TOOLS = ("docker", "podman", "buildah")


@dataclass(frozen=True)
class BuildResult:
    """What `build_image` did: `built`/`pushed` with which tool, or only `dockerfile_path` was written."""

    image: str
    dockerfile_path: Path
    tool: str | None
    built: bool
    pushed: bool
    note: str = ""


def find_tool() -> str | None:
    """The first of docker, podman, buildah on PATH (`KITARU_BUILD_TOOL` picks one; "none" disables building)."""
    chosen = os.environ.get("KITARU_BUILD_TOOL")
    if chosen:
        return None if chosen == "none" else (shutil.which(chosen) and chosen)
    return next((t for t in TOOLS if shutil.which(t)), None)


def _run(cmd: list[str], *, secret_input: str | None = None) -> None:
    shown = " ".join(cmd)
    try:
        proc = subprocess.run(cmd, input=secret_input, text=True, capture_output=True, timeout=3600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KitaruBackendError(f"`{shown}` could not run: {exc}") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise KitaruBackendError(f"`{shown}` failed (exit {proc.returncode}): " + " | ".join(tail))


def build_image(plan: ImagePlan, *, out_dir: Path, push: bool = True, credentials: Any = None,
                tool: str | None = None) -> BuildResult:
    """Write the Dockerfile under `out_dir`; build and push it when a build tool is installed.

    `credentials` (RegistryCredentials, push access) log the tool in to the registry first, through stdin
    (never on a command line). Without a tool nothing is built: the result says where the Dockerfile is.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"Dockerfile.{plan.tag}"
    path.write_text(plan.dockerfile)
    tool = tool if tool is not None else find_tool()
    if tool is None:
        return BuildResult(plan.image, path, None, False, False,
                           "no docker, podman or buildah found: build it yourself with"
                           f" `docker build -f {path} -t {plan.image} {plan.context}`")
    platform = ["--platform", plan.platform] if plan.platform else []
    if tool == "buildah":
        _run([tool, "bud", *platform, "-f", str(path), "-t", plan.image, str(plan.context)])
    else:
        _run([tool, "build", *platform, "-f", str(path), "-t", plan.image, str(plan.context)])
    if not push:
        return BuildResult(plan.image, path, tool, True, False, "built locally (--no-push)")
    if credentials is not None and credentials.username:
        _run([tool, "login", "--username", credentials.username, "--password-stdin", credentials.registry],
             secret_input=credentials.password)
    _run([tool, "push", plan.image])
    return BuildResult(plan.image, path, tool, True, True)
