"""Kitaru 0.4 compatibility: configure(), [tool.kitaru], ImageSettings and the environment (issue 12)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import kitaru
from kitaru.config import ImageSettings, KitaruConfig, resolve_config

REFERENCE_IMAGE_FIELDS = ("base_image", "requirements", "dockerfile", "build_context_root", "environment",
                          "apt_packages", "replicate_local_python_environment", "image_tag", "target_repository",
                          "user", "platform")


def test_defaults_are_the_reference_defaults() -> None:
    config = resolve_config()
    assert (config.cache, config.retries) == (True, 0)


def test_configure_returns_the_resolved_config_and_none_clears_a_field() -> None:
    config = kitaru.configure(stack="default", retries=2, project="agents")
    assert isinstance(config, KitaruConfig)
    assert (config.stack, config.retries, config.project) == ("default", 2, "agents")
    again = kitaru.configure(cache=False)  # only what is passed changes
    assert (again.stack, again.retries, again.cache) == ("default", 2, False)
    cleared = kitaru.configure(retries=None, project=None)
    assert (cleared.retries, cleared.project, cleared.stack) == (0, None, "default")


def test_configure_refuses_bad_values_and_sets_nothing() -> None:
    with pytest.raises(kitaru.KitaruUsageError, match="retries"):
        kitaru.configure(stack="other", retries=-1)
    assert resolve_config().stack is None
    with pytest.raises(kitaru.KitaruUsageError, match="unknown configuration option"):
        kitaru.configure(stak="x")


@pytest.mark.parametrize("image", ["python:3.12-slim", {"base_image": "python:3.12-slim"},
                                   ImageSettings(base_image="python:3.12-slim")])
def test_image_may_be_a_name_a_mapping_or_image_settings(image: object) -> None:
    config = kitaru.configure(image=image)
    assert isinstance(config.image, ImageSettings) and config.image.base_image == "python:3.12-slim"


def test_image_settings_has_the_reference_fields() -> None:
    for name in REFERENCE_IMAGE_FIELDS:
        assert name in ImageSettings.model_fields
    full = ImageSettings(base_image="python:3.12", requirements=["httpx"], dockerfile="Dockerfile",
                         build_context_root=".", environment={"A": "1"}, apt_packages=["git"],
                         replicate_local_python_environment="pip_freeze", image_tag="v1",
                         target_repository="agents", user="app", platform="linux/amd64")
    assert ImageSettings.model_validate(full.model_dump()) == full
    with pytest.raises(kitaru.KitaruUsageError, match="requirements"):
        ImageSettings(requirements="httpx")  # type: ignore[arg-type]


def test_image_on_flow_and_run_is_frozen_with_the_execution() -> None:
    @kitaru.checkpoint
    def one() -> int:
        return 1

    @kitaru.flow(image="python:3.12-slim")
    def imaged() -> int:
        return one()

    from kitaru.store import current_state

    imaged.run().wait()
    assert current_state().list_executions(limit=1)[0]["config"]["image"]["base_image"] == "python:3.12-slim"
    imaged.run(image={"base_image": "python:3.13", "apt_packages": ["git"]}).wait()
    stored = current_state().list_executions(limit=1)[0]["config"]["image"]
    assert (stored["base_image"], stored["apt_packages"]) == ("python:3.13", ["git"])


def test_kitaru_image_env_as_plain_string_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_IMAGE", "ghcr.io/acme/agent:1")
    assert resolve_config().image.base_image == "ghcr.io/acme/agent:1"
    monkeypatch.setenv("KITARU_IMAGE", json.dumps({"base_image": "python:3.12", "requirements": ["httpx"]}))
    image = resolve_config().image
    assert (image.base_image, image.requirements) == ("python:3.12", ["httpx"])
    monkeypatch.setenv("KITARU_IMAGE", "{not json")
    with pytest.raises(kitaru.KitaruUsageError, match="KITARU_IMAGE"):
        resolve_config()


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(body)
    monkeypatch.chdir(project)


def test_project_from_pyproject_env_and_configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, monkeypatch, "[tool.kitaru]\nproject = 'from-pyproject'\n")
    assert resolve_config().project == "from-pyproject"
    monkeypatch.setenv("KITARU_PROJECT", "from-env")
    assert resolve_config().project == "from-env"
    assert kitaru.configure(project="from-configure").project == "from-configure"


def test_unknown_pyproject_keys_warn_and_never_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path, monkeypatch, "[tool.kitaru]\nretries = 2\nsome_future_option = true\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = resolve_config()
    assert config.retries == 2
    assert any("some_future_option" in str(w.message) for w in caught)


def test_kitaru_config_path_moves_the_user_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.config._paths import user_config_dir
    from kitaru.store._connection import connection_path

    monkeypatch.setenv("KITARU_CONFIG_PATH", str(tmp_path / "cfg"))
    assert user_config_dir() == (tmp_path / "cfg").resolve()
    assert connection_path().parent == (tmp_path / "cfg").resolve()


def test_kitaru_config_path_holds_state_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.config._paths import resolve_home

    outside = tmp_path / "nowhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.delenv("KITARU_HOME")
    monkeypatch.setenv("KITARU_CONFIG_PATH", str(tmp_path / "cfg"))
    import kitaru.config._paths as paths

    monkeypatch.setattr(paths, "find_project_root", lambda start=None: None)
    assert resolve_home() == (tmp_path / "cfg").resolve()


@pytest.mark.parametrize(("host", "expected"), [("127.0.0.1:11500", "http://127.0.0.1:11500/v1"),
                                                ("http://gpu-box:11434", "http://gpu-box:11434/v1"),
                                                ("https://ollama.example.com/v1/", "https://ollama.example.com/v1")])
def test_ollama_host_is_read_as_ollama_reads_it(host: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.providers._http import resolve_base_url

    monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", host)
    assert resolve_base_url("ollama", None) == expected
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://explicit:1/v1")  # the explicit base URL still wins
    assert resolve_base_url("ollama", None) == "http://explicit:1/v1"


def test_ollama_host_reaches_a_real_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.providers.fake_openai import FakeLLMServer

    server = FakeLLMServer().start()
    try:
        monkeypatch.delenv("OLLAMA_BASE_URL", raising=False)
        monkeypatch.setenv("OLLAMA_HOST", server.url.removeprefix("http://"))

        @kitaru.flow
        def ask() -> str:
            return kitaru.llm("ping", model="ollama/llama3")

        assert ask.run().wait() == "echo: ping"
        assert server.requests and server.requests[-1].body["model"] == "llama3"
    finally:
        server.stop()


def test_frozen_execution_spec_and_connection_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kitaru.config import FrozenExecutionSpec, resolve_connection_config

    spec = FrozenExecutionSpec.from_stored({"stack": "default", "cache": True, "image": {"environment":
                                            {"API_TOKEN": "s3cr3t"}}}, flow_defaults={"retries": 1})
    assert spec.stack == "default" and spec.flow_defaults == {"retries": 1}
    assert spec.resolved_execution["image"]["environment"]["API_TOKEN"] == "***"  # never a secret in a spec
    monkeypatch.setenv("KITARU_CONFIG_PATH", str(tmp_path / "cfg"))
    monkeypatch.delenv("KITARU_SERVER_URL", raising=False)
    monkeypatch.setenv("KITARU_PROJECT", "p1")
    conn = resolve_connection_config()
    assert (conn.url, conn.source, conn.is_remote, conn.project) == (None, "embedded", False, "p1")
    monkeypatch.setenv("KITARU_SERVER_URL", "https://kitaru.example.com/")
    monkeypatch.setenv("KITARU_AUTH_TOKEN", "kit_abc")
    conn = resolve_connection_config()
    assert (conn.url, conn.source, conn.api_key_set, conn.token_set) == ("https://kitaru.example.com", "environment",
                                                                         True, False)
