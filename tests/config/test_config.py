"""Configuration precedence and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

import kitaru
from kitaru.config import resolve_config


def test_precedence_defaults_pyproject_env_configure_flow_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.kitaru]\nretries = 1\ndefault-model = 'openai/a'\ncache = true\n")
    monkeypatch.chdir(project)
    assert resolve_config().retries == 1 and resolve_config().default_model == "openai/a"
    monkeypatch.setenv("KITARU_RETRIES", "2")
    assert resolve_config().retries == 2
    kitaru.configure(retries=3)
    assert resolve_config().retries == 3
    assert resolve_config({"retries": 4}).retries == 4
    assert resolve_config({"retries": 4}, {"retries": 5}).retries == 5
    stacked = resolve_config(stack_layer={"retries": 9, "wait_timeout": 7})
    assert (stacked.retries, stacked.wait_timeout) == (3, 7)  # the stack is the lowest layer
    assert resolve_config().cache is True


def test_bad_values_are_usage_errors_naming_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(kitaru.KitaruUsageError, match="unknown configuration option"):
        kitaru.configure(retrys=1)
    monkeypatch.setenv("KITARU_RETRIES", "-1")
    with pytest.raises(kitaru.KitaruUsageError, match="retries"):
        resolve_config()


def test_environment_values_are_coerced_and_bad_ones_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"KITARU_RETRIES": "2", "KITARU_CACHE": "off", "kitaru_lease_ttl": "1.5",
                        "KITARU_IMAGE": '{"base_image": "python:3.12"}'}.items():
        monkeypatch.setenv(name, value)
    config = resolve_config()
    assert (config.retries, config.cache, config.lease_ttl) == (2, False, 1.5)
    assert config.image is not None and config.image.base_image == "python:3.12"
    monkeypatch.setenv("KITARU_RETRIES", "two")
    with pytest.raises(kitaru.KitaruUsageError, match="retries: .*'two'"):
        resolve_config()


def test_stored_config_redacts_secret_looking_values() -> None:
    config = resolve_config({"image": kitaru.ImageSettings(environment={"OPENAI_API_KEY": "sk-123", "MODE": "x"})})
    stored = config.stored()
    assert stored["image"]["environment"] == {"OPENAI_API_KEY": "***", "MODE": "x"}


def test_invalid_pyproject_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.kitaru\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(kitaru.KitaruUsageError, match="not valid TOML"):
        resolve_config()


def test_import_kitaru_loads_no_heavy_modules() -> None:
    import subprocess
    import sys

    code = ("import sys, kitaru; heavy = [m for m in ('sqlalchemy', 'pydantic', 'pluggy', 'httpx', 'yaml', 'alembic',"
            " 'typer', 'rich', 'boto3') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.strip() == "[]"
