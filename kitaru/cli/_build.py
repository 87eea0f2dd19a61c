"""`kitaru build [TARGET]`: build and push the runtime image of a flow's (or the project's) ImageSettings."""

from pathlib import Path
from typing import Annotated

import typer

from kitaru.cli._base import Out, OutputFormat, OutputOpt, parse_json


def build_command(
    target: Annotated[str | None, typer.Argument(
        help="FILE.py:FLOW or MODULE:FLOW whose @flow(image=...) to build (default: the project's configuration).",
        show_default=False)] = None,
    stack: Annotated[str | None, typer.Option("--stack", help="Build for this stack (default: the active one).")] = None,
    image: Annotated[str | None, typer.Option(
        "--image", help="ImageSettings as a JSON object (overrides the flow's and the project's).")] = None,
    push: Annotated[bool, typer.Option("--push/--no-push", help="Push after building.")] = True,
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Where the Dockerfile is written.")] = Path(
        ".kitaru/build"),
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Write the runtime image's Dockerfile and build + push it with docker, podman or buildah if installed.

    The tag is a hash of the image's inputs (base image, requirements, apt packages, environment, Kitaru and
    the stack's plugins), so it changes only when dependencies change, never for a code change.
    """
    from kitaru.errors import KitaruUsageError
    from kitaru.images import build_image, plan
    from kitaru.images._resolve import registry_credentials, settings_for_build

    out = Out("build", output)
    overrides = parse_json(image, "--image", want_object=True) if image else None
    settings, resolved = settings_for_build(target, stack, overrides)
    if settings is None:
        raise KitaruUsageError("nothing to build: no ImageSettings for this flow or project; pass `--image`"
                               " '{\"requirements\": [...]}', set `@flow(image=...)` or `[tool.kitaru] image`")
    if settings.image:
        raise KitaruUsageError(f"the configuration names a prebuilt image ({settings.image}); there is nothing to"
                               " build. Drop `image` to build from base_image/requirements")
    the_plan = plan(settings, spec=resolved.spec, registry=resolved.container_registry)
    creds = registry_credentials(resolved) if push else None
    result = build_image(the_plan, out_dir=output_dir, push=push, credentials=creds)
    data = {"image": result.image, "dockerfile": str(result.dockerfile_path), "tool": result.tool,
            "built": result.built, "pushed": result.pushed, "note": result.note}

    def human() -> None:
        if result.built:
            typer.echo(f"Built {result.image} with {result.tool}" + (" and pushed it." if result.pushed else "."))
        else:
            typer.echo(f"Wrote {result.dockerfile_path} for {result.image}; it was not built: {result.note}")

    out.item(data, human)
