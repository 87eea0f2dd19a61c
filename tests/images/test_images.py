"""Runtime images: a deterministic Dockerfile from ImageSettings with Kitaru and the stack's plugins, a tag that
changes with dependencies and never with code, and `kitaru build` (a build tool when installed, else the file)."""

from __future__ import annotations

import json
import os
import stat
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kitaru import ImageSettings
from kitaru.errors import KitaruUsageError
from kitaru.images import plan, render
from kitaru.plugins._oci import OCIRegistry, OCIRegistryConfig

K8S_S3 = {"orchestrator": {"flavor": "kubernetes", "namespace": "kitaru"},
          "artifact_store": {"flavor": "s3", "path": "s3://b/k"}}


def test_the_dockerfile_is_deterministic_and_injects_kitaru_and_the_stacks_plugins(tmp_path: Path) -> None:
    settings = ImageSettings(base_image="python:3.12-slim", requirements=["httpx>=0.27"], apt_packages=["git", "curl"],
                             environment={"MODE": "prod"}, user="1000")
    text, context = render(settings, spec=K8S_S3, root=tmp_path)
    assert text == render(settings, spec=K8S_S3, root=tmp_path)[0] and context == tmp_path
    lines = text.splitlines()
    assert "FROM python:3.12-slim" in lines
    assert "RUN apt-get update && apt-get install -y --no-install-recommends curl git && rm -rf /var/lib/apt/lists/*" \
        in lines
    assert "RUN pip install httpx>=0.27" not in lines and 'RUN pip install "httpx>=0.27"' in lines
    injected = next(ln for ln in lines if "kitaru==" in ln)
    for dist in ("kitaru", "kitaru-k8s", "kitaru-s3"):
        assert f"{dist}=={metadata.version(dist)}" in injected
    assert "kitaru-gcs" not in text  # only the stack's own plugins
    assert 'ENV MODE="prod"' in lines and lines[-2] == "USER 1000"
    assert lines[-1] == 'ENTRYPOINT ["python", "-m", "kitaru.runtime"]'


def test_the_tag_follows_dependencies_and_never_code(tmp_path: Path) -> None:
    (tmp_path / "agent.py").write_text("VERSION = 1\n")
    (tmp_path / "requirements.txt").write_text("httpx==0.27.0  # pinned\n\nrich\n")
    base = ImageSettings(requirements=["requirements.txt"])
    first = plan(base, spec=K8S_S3, root=tmp_path)
    assert 'RUN pip install httpx==0.27.0 rich' in first.dockerfile  # the file's lines, comments dropped
    (tmp_path / "agent.py").write_text("VERSION = 2\n")  # a code change ships as the archive, not the image
    assert plan(base, spec=K8S_S3, root=tmp_path).tag == first.tag
    (tmp_path / "requirements.txt").write_text("httpx==0.28.0\nrich\n")
    assert plan(base, spec=K8S_S3, root=tmp_path).tag != first.tag
    tags = {plan(s, spec=K8S_S3, root=tmp_path).tag for s in (
        ImageSettings(), ImageSettings(apt_packages=["git"]), ImageSettings(environment={"A": "1"}),
        ImageSettings(base_image="python:3.9-slim"), ImageSettings(platform="linux/arm64"))}
    assert len(tags) == 5
    assert plan(ImageSettings(), spec={}, root=tmp_path).tag != plan(ImageSettings(), spec=K8S_S3, root=tmp_path).tag
    assert plan(ImageSettings(image_tag="v7"), root=tmp_path).image == "kitaru-runtime:v7"
    assert plan(ImageSettings(target_repository="ghcr.io/acme/agent"), root=tmp_path).repository == "ghcr.io/acme/agent"
    registry = OCIRegistry(OCIRegistryConfig(uri="registry.example:5000/team"))
    assert plan(ImageSettings(), root=tmp_path, registry=registry).image.startswith(
        "registry.example:5000/team/kitaru-runtime:")


def test_a_dockerfile_of_ones_own_comes_first_and_conflicts_are_named(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM ubuntu:24.04\nRUN apt-get update\n")
    text, context = render(ImageSettings(dockerfile="docker/Dockerfile"), root=tmp_path)
    assert text.index("FROM ubuntu:24.04") < text.index("kitaru==") and context == tmp_path / "docker"
    with pytest.raises(KitaruUsageError, match="either `dockerfile` or `base_image`"):
        render(ImageSettings(dockerfile="docker/Dockerfile", base_image="python:3.12"), root=tmp_path)
    with pytest.raises(KitaruUsageError, match="not a file"):
        render(ImageSettings(requirements=["missing.txt"]), root=tmp_path)


def test_replicating_the_local_environment_pins_what_is_installed_except_kitaru(tmp_path: Path) -> None:
    text, _ = render(ImageSettings(replicate_local_python_environment=True), root=tmp_path)
    pins = next(ln for ln in text.splitlines() if "httpx==" in ln)
    assert f"httpx=={metadata.version('httpx')}" in pins and "kitaru" not in pins


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> object:
    from kitaru.cli._app import app

    return CliRunner().invoke(app, ["build", *args], env=env, catch_exceptions=False)


def test_kitaru_build_without_a_build_tool_writes_the_dockerfile_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _cli(tmp_path, "--image", '{"requirements": ["httpx"]}', "-o", "json",
                  env={"KITARU_BUILD_TOOL": "none"})
    assert result.exit_code == 0, result.output
    item = json.loads(result.output)["item"]
    assert item["built"] is False and item["pushed"] is False and "no docker, podman or buildah" in item["note"]
    written = Path(item["dockerfile"])
    assert written.is_file() and written.parent == Path(".kitaru/build") and "httpx" in written.read_text()
    assert item["image"].startswith("kitaru-runtime:") and item["image"].endswith(written.name.split(".")[-1])
    text = _cli(tmp_path, "--image", '{"requirements": ["httpx"]}', env={"KITARU_BUILD_TOOL": "none"})
    assert "it was not built" in text.output and "docker build -f" in text.output
    nothing = _cli(tmp_path, env={"KITARU_BUILD_TOOL": "none"})
    assert nothing.exit_code != 0 and "nothing to build" in nothing.output


SHIM = """#!/bin/sh
# records how kitaru build calls the build tool (no container daemon runs on these machines)
printf '%s\\n' "$*" >> "$SHIM_LOG"
if [ "$1" = login ]; then read -r secret; printf 'stdin:%s\\n' "$secret" >> "$SHIM_LOG"; fi
exit 0
"""


def _shim_build_tool(tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a recording `tool` first on PATH, select it, work in `tmp_path`; the log it writes its calls to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / tool
    shim.write_text(SHIM)
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SHIM_LOG", str(log))
    monkeypatch.setenv("KITARU_BUILD_TOOL", tool)
    monkeypatch.chdir(tmp_path)
    return log


def _register_registry_stack() -> None:
    """Stack `withreg`: a registry whose password is the secret `reg` (created here)."""
    import kitaru
    from kitaru.stacks import register_stack

    kitaru.create_secret("reg", password="s3cr3t")
    register_stack("s.yaml", text="name: withreg\norchestrator: {flavor: local}\nartifact_store: {flavor: local}\n"
                   "container_registry: {flavor: oci, uri: registry.example/team, username: bot,"
                   " password: {secret: reg}}\n", activate=False)


@pytest.mark.parametrize("tool", ["docker", "podman", "buildah"])
def test_kitaru_build_builds_logs_in_through_stdin_and_pushes(
        tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = _shim_build_tool(tool, tmp_path, monkeypatch)
    _register_registry_stack()
    result = _cli(tmp_path, "--stack", "withreg", "--image", '{"platform": "linux/amd64"}', "-o", "json")
    assert result.exit_code == 0, result.output
    item = json.loads(result.output)["item"]
    assert item["built"] and item["pushed"] and item["tool"] == tool
    image = item["image"]
    assert image.startswith("registry.example/team/kitaru-runtime:")
    calls = log.read_text().splitlines()
    build = "bud" if tool == "buildah" else "build"
    assert calls[0] == f"{build} --platform linux/amd64 -f {item['dockerfile']} -t {image} {tmp_path}"
    assert calls[1] == "login --username bot --password-stdin registry.example" and calls[2] == "stdin:s3cr3t"
    assert calls[3] == f"push {image}"
    assert not any("s3cr3t" in c for c in calls if not c.startswith("stdin:"))  # never on a command line


def test_on_a_server_registry_credentials_are_brokered_and_stored_ones_go_to_admins_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.stacks._resolve import forget_cached
    from tests.support import http, on_backend

    log = _shim_build_tool("docker", tmp_path, monkeypatch)
    with on_backend("sqlite", tmp_path, monkeypatch):
        _register_registry_stack()
        admin = _cli(tmp_path, "--stack", "withreg", "--image", '{"apt_packages": ["git"]}', "-o", "json")
        assert admin.exit_code == 0, admin.output
        assert "stdin:s3cr3t" in log.read_text().splitlines()  # the admin got them from the server

        url = os.environ["KITARU_SERVER_URL"]
        token = http.post(f"{url}/api/v1/auth/token", json={"api_key": os.environ["KITARU_API_KEY"]},
                          timeout=10).json()["access_token"]
        keys = {}
        for role in ("member", "viewer"):
            http.post(f"{url}/api/v1/users", json={"name": f"a-{role}", "role": role},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10).raise_for_status()
            keys[role] = http.post(f"{url}/api/v1/api-keys", json={"name": "k", "principal": f"a-{role}"},
                                   headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["api_key"]
        for role, expected in (("member", "only admins"), ("viewer", "viewers cannot build")):
            monkeypatch.setenv("KITARU_API_KEY", keys[role])
            forget_cached("withreg")
            refused = _cli(tmp_path, "--stack", "withreg", "--image", '{"apt_packages": ["git"]}')
            assert refused.exit_code != 0 and expected in refused.output, refused.output
        assert log.read_text().count("stdin:") == 1
