"""The shipped Dockerfiles, checked statically (no Docker engine here): pinned base, non-root, entrypoint, no secrets."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.charts.support import CHART, ROOT

DOCKER = CHART / "docker"
PINNED = re.compile(r"^python:\d+\.\d+\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$|^[^:@]+(:[^@]+)?@sha256:[0-9a-f]{64}$")
SECRET_NAME = re.compile(r"(?i)(SECRET|PASSWORD|TOKEN|API_KEY|ACCESS_KEY|DATABASE_URL)")
SECRET_TEXT = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|\bkit_[A-Za-z0-9_-]{20,}|\bsk-[A-Za-z0-9]{16,}")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        word, _, rest = pending.partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def stages(steps: list[tuple[str, str]]) -> tuple[dict[str, str], list[list[tuple[str, str]]]]:
    """Global ARG defaults and the instructions of each stage (a stage starts with its FROM)."""
    args: dict[str, str] = {}
    result: list[list[tuple[str, str]]] = []
    for word, rest in steps:
        if word == "ARG" and not result:
            name, _, default = rest.partition("=")
            args[name] = default
        elif word == "FROM":
            result.append([(word, rest)])
        elif result:
            result[-1].append((word, rest))
    return args, result


def problems(text: str) -> list[str]:
    """What is wrong with a Dockerfile by the project's rules; empty when it passes."""
    found: list[str] = []
    args, built = stages(instructions(text))
    names: set[str] = set()
    for stage in built:
        image, _, alias = stage[0][1].partition(" AS ")
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image.split()[-1])
        if image not in names and not PINNED.match(image):
            found.append(f"FROM {image}: not pinned (python:X.Y.Z-slim-DISTRO or @sha256:…)")
        names.add(alias.strip())
    if not built:
        return ["no FROM"]
    final = built[-1]
    users = [rest for word, rest in final if word == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        found.append("the final stage does not switch to a non-root USER")
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    if not entry or not entry[-1].startswith("["):
        found.append("no exec-form ENTRYPOINT in the final stage")
    for word, rest in instructions(text):
        if word in ("ENV", "ARG"):
            for name, value in re.findall(r"(\w+)=(\S*)", rest):
                if SECRET_NAME.search(name) and value:
                    found.append(f"{word} {name} carries a value: secrets come from the environment at run time")
        if word == "ADD" and re.search(r"https?://", rest):
            found.append("ADD from a URL (unverified download)")
        if word == "COPY" and re.search(r"(^|\s)(\S*/)?(\.env|\S+\.pem|\S+\.key|id_rsa)(\s|$)", rest):
            found.append(f"COPY of a secret-looking file: {rest}")
    if SECRET_TEXT.search(text):
        found.append("a literal credential")
    return found


def final_stage(path: Path) -> list[tuple[str, str]]:
    return stages(instructions(path.read_text()))[1][-1]


def chart_values() -> dict:
    return yaml.safe_load((CHART / "values.yaml").read_text())


@pytest.mark.parametrize("name", ["server.Dockerfile", "runtime.Dockerfile"])
def test_dockerfile_follows_the_rules(name: str) -> None:
    assert problems((DOCKER / name).read_text()) == []


@pytest.mark.parametrize("bad,expected", [
    ("FROM python:3.12-slim\nUSER 10001\nENTRYPOINT [\"kitaru\"]\n", "not pinned"),
    ("FROM python:latest\nUSER 10001\nENTRYPOINT [\"kitaru\"]\n", "not pinned"),
    ("FROM python:3.12.8-slim-bookworm\nENTRYPOINT [\"kitaru\"]\n", "non-root USER"),
    ("FROM python:3.12.8-slim-bookworm\nUSER 10001\nUSER root\nENTRYPOINT [\"kitaru\"]\n", "non-root USER"),
    ("FROM python:3.12.8-slim-bookworm\nUSER 10001\n", "ENTRYPOINT"),
    ("FROM python:3.12.8-slim-bookworm\nUSER 10001\nENTRYPOINT kitaru server up\n", "ENTRYPOINT"),
    ("FROM python:3.12.8-slim-bookworm\nENV OPENAI_API_KEY=sk-x\nUSER 1\nENTRYPOINT [\"k\"]\n", "carries a value"),
    ("FROM python:3.12.8-slim-bookworm\nARG KITARU_SERVER_SECRET_KEY=abc\nUSER 1\nENTRYPOINT [\"k\"]\n", "carries a value"),
    ("FROM python:3.12.8-slim-bookworm\nCOPY .env /app/\nUSER 1\nENTRYPOINT [\"k\"]\n", "secret-looking file"),
    ("FROM python:3.12.8-slim-bookworm\nADD https://x.io/a.tgz /\nUSER 1\nENTRYPOINT [\"k\"]\n", "URL"),
    ("FROM python:3.12.8-slim-bookworm\nRUN echo AKIAABCDEFGHIJKLMNOP\nUSER 1\nENTRYPOINT [\"k\"]\n", "credential"),
])
def test_the_checker_refuses_what_it_should(bad: str, expected: str) -> None:
    assert any(expected in p for p in problems(bad)), problems(bad)


@pytest.mark.parametrize("name", ["server.Dockerfile", "runtime.Dockerfile"])
def test_image_user_matches_the_chart_and_copies_exist(name: str) -> None:
    path = DOCKER / name
    text = path.read_text()
    uid = chart_values()["securityContext"]["runAsUser"]
    assert final_stage(path)[-1] != ("USER", "root")
    assert [rest for word, rest in final_stage(path) if word == "USER"][-1] == f"{uid}:{uid}"
    assert f"--uid {uid}" in text, "the image creates the user the chart runs as"
    ignore = (DOCKER / f"{name}.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for word, rest in instructions(text):
        if word == "COPY" and "--from=" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), f"{name}: COPY {source} does not exist in the repository"
                assert source.rstrip("/") in allowed, f"{name}: COPY {source} is excluded by its .dockerignore"


def test_server_image_installs_the_server_extras_and_runs_kitaru_server_up() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = (DOCKER / "server.Dockerfile").read_text()
    extras = re.search(r'pip install "\.\[([a-z,-]+)\]"', text)
    assert extras and set(extras.group(1).split(",")) == {"server", "postgres"}
    assert {"server", "postgres"} <= project["optional-dependencies"].keys()
    final = final_stage(DOCKER / "server.Dockerfile")
    entry = json.loads([rest for word, rest in final if word == "ENTRYPOINT"][-1])
    cmd = json.loads([rest for word, rest in final if word == "CMD"][-1])
    assert entry == ["kitaru"] and "kitaru" in project["scripts"]
    assert cmd[:2] == ["server", "up"] and cmd[cmd.index("--host") + 1] == "0.0.0.0"
    port = chart_values()["server"]["port"]
    assert cmd[cmd.index("--port") + 1] == str(port) and ("EXPOSE", str(port)) in final


def test_runtime_image_runs_the_kitaru_runtime_with_every_plugin() -> None:
    text = (DOCKER / "runtime.Dockerfile").read_text()
    final = final_stage(DOCKER / "runtime.Dockerfile")
    entry = json.loads([rest for word, rest in final if word == "ENTRYPOINT"][-1])
    assert entry == ["python", "-m", "kitaru.runtime"]
    assert (ROOT / "kitaru" / "runtime" / "__main__.py").is_file()
    assert ("COPY", "plugins ./plugins") in instructions(text)
    assert re.search(r'for plugin in plugins/\*/; do .*pip install "\$plugin"', " ".join(text.split()))
    assert any((p / "pyproject.toml").is_file() for p in (ROOT / "plugins").iterdir())
