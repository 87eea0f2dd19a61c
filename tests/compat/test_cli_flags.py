"""Kitaru 0.4 CLI flags: stack create/delete, login, executions logs, info --all-packages, clean --force."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from kitaru.cli._stack_create import STACK_TYPES, parse_extra
from kitaru.errors import KitaruUsageError
from tests.compat.cli import json_error, kitaru, kitaru_json


def stack_names(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [s["name"] for s in kitaru_json(capsys, "stack", "list")["items"]]


def test_stack_create_from_flags_activates_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "outputs"
    doc = kitaru_json(capsys, "stack", "create", "laptop", "--type", "local", "--artifact-store", str(store),
                      "--async", "--no-verify")
    assert doc["command"] == "stack.create"
    item = doc["item"]
    assert {"id", "name", "is_active"} <= set(item) and item["name"] == "laptop" and item["is_active"] is True
    assert item["previous_active_stack"] == "default" and item["stack_type"] == "local"
    assert item["spec"]["artifact_store"] == {"flavor": "local", "path": str(store)}
    assert kitaru_json(capsys, "stack", "current")["item"]["name"] == "laptop"
    quiet = kitaru_json(capsys, "stack", "create", "spare", "--no-activate")["item"]
    assert quiet["is_active"] is False and kitaru_json(capsys, "stack", "current")["item"]["name"] == "laptop"
    again = json_error(capsys, "stack", "create", "spare")
    assert "already exists" in again["error"]["message"]


def test_stack_create_maps_uris_to_installed_flavors(capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("kitaru_s3") is None:
        pytest.skip("kitaru-s3 is not installed")
    item = kitaru_json(capsys, "stack", "create", "aws", "--artifact-store", "s3://acme-agents/kitaru",
                       "--no-activate", "--extra", "artifact_store.region=eu-west-1")["item"]
    assert item["spec"]["artifact_store"] == {"flavor": "s3", "path": "s3://acme-agents/kitaru",
                                              "region": "eu-west-1"}
    registry = kitaru_json(capsys, "stack", "create", "reg", "--no-activate", "--container-registry",
                           "registry.example.com/agents")["item"]
    assert registry["spec"]["container_registry"] == {"flavor": "oci", "uri": "registry.example.com/agents"}


def test_components_whose_plugin_is_missing_name_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    before = stack_names(capsys)
    missing = [(kind, dist) for kind, (_, dist) in STACK_TYPES.items()
               if dist and importlib.util.find_spec(dist.replace("-", "_")) is None]
    if not missing:
        pytest.skip("every orchestrator plugin is installed here")
    for kind, dist in missing:
        error = json_error(capsys, "stack", "create", f"remote-{kind}", "--type", kind)
        assert f"pip install {dist}" in error["error"]["message"], error
    unknown_scheme = json_error(capsys, "stack", "create", "odd", "--artifact-store", "zz://bucket/x")
    assert "zz://" in unknown_scheme["error"]["message"]
    assert stack_names(capsys) == before  # nothing half-stored


def test_extra_values_go_into_the_component_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_extra(["orchestrator.pod_settings.cpu=2", "orchestrator.pod_settings.node=gpu",
                        "artifact_store.path=/data"]) == {
        "orchestrator": {"pod_settings": {"cpu": 2, "node": "gpu"}}, "artifact_store": {"path": "/data"}}
    for bad in ("cpu=2", "orchestrator=2", "scheduler.cpu=2", "orchestrator.cpu"):
        with pytest.raises(KitaruUsageError, match="COMPONENT.FIELD=VALUE"):
            parse_extra([bad])
    refused = json_error(capsys, "stack", "create", "odd", "--extra", "orchestrator.pod_settings.cpu=2")
    assert "pod_settings" in refused["error"]["message"]  # the local orchestrator has no such setting
    assert "odd" not in stack_names(capsys)


def test_stack_create_from_a_file_and_delete_recursive_force(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "stack.yaml"
    spec.write_text("name: from-file\norchestrator: {flavor: local}\nartifact_store: {flavor: local}\n")
    item = kitaru_json(capsys, "stack", "create", "renamed", "-f", str(spec))["item"]
    assert item["name"] == "renamed" and item["is_active"] is True
    refused = json_error(capsys, "stack", "delete", "renamed")
    assert "active" in refused["error"]["message"]
    deleted = kitaru_json(capsys, "stack", "delete", "renamed", "--recursive", "--force")["item"]
    assert deleted["deleted_stack"] == "renamed" and deleted["recursive"] is True
    assert deleted["new_active_stack"] == "default"
    assert set(deleted["components_deleted"]) == {"orchestrator", "artifact_store"}
    assert "renamed" not in stack_names(capsys)


def test_login_takes_the_reference_flags(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = kitaru(capsys, "login", "--help")
    assert code == 0
    for flag in ("--api-key", "--refresh", "--project", "--no-verify-ssl", "--ssl-ca-cert", "--timeout"):
        assert flag in out, flag
    monkeypatch.delenv("KITARU_SERVER_URL", raising=False)
    monkeypatch.delenv("KITARU_API_KEY", raising=False)
    nowhere = json_error(capsys, "login")  # SERVER is optional, but there must be one to log in to
    assert nowhere["command"] == "login" and "kitaru login https://" in nowhere["error"]["message"]
    keyless = json_error(capsys, "login", "http://127.0.0.1:9")
    assert "--api-key" in keyless["error"]["message"]


def test_logs_flags(flows: Any, capsys: pytest.CaptureFixture[str]) -> None:
    exec_id = flows.pipeline.run(topic="ai").exec_id
    code, out, _ = kitaru(capsys, "executions", "logs", exec_id)
    assert code == 0 and out.splitlines() == ["researching ai", "writing"]
    _, verbose, _ = kitaru(capsys, "executions", "logs", exec_id, "-v")
    assert verbose.splitlines()[0].endswith("INFO  researching ai") or " researching ai" in verbose
    _, very, _ = kitaru(capsys, "executions", "logs", exec_id, "-vv")
    assert "[research] researching ai" in very and "[write] writing" in very
    _, grouped, _ = kitaru(capsys, "executions", "logs", exec_id, "--grouped")
    assert grouped.splitlines() == ["── checkpoint: research " + "─" * 30, "researching ai", "",
                                    "── checkpoint: write " + "─" * 30, "writing"]
    _, first, _ = kitaru(capsys, "executions", "logs", exec_id, "-n", "1")
    assert first.splitlines() == ["researching ai"]
    _, one, _ = kitaru(capsys, "executions", "logs", exec_id, "--checkpoint", "write")
    assert one.splitlines() == ["writing"]
    _, runner, _ = kitaru(capsys, "executions", "logs", exec_id, "--source", "runner")
    assert runner.splitlines() == ["flow body speaking"]
    code, followed, _ = kitaru(capsys, "executions", "logs", exec_id, "--follow", "--interval", "0.05")
    assert code == 0 and followed.splitlines()[-1] == "[Execution completed successfully]"
    failed = flows.broken.run().exec_id
    code, out, _ = kitaru(capsys, "executions", "logs", failed, "--follow", "--interval", "0.05")
    assert code == 1 and "[Execution failed: no budget left]" in out


def test_info_all_packages_and_clean_force(kitaru_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = kitaru_json(capsys, "info")["item"]
    assert "packages" not in plain
    packages = kitaru_json(capsys, "info", "--all-packages")["item"]["packages"]
    assert any(p["name"] == "kitaru" for p in packages) and any(p["name"] == "typer" for p in packages)
    kitaru_json(capsys, "executions", "list")  # makes sure the home exists
    assert kitaru_home.exists()
    cleaned = kitaru_json(capsys, "clean", "project", "--force")
    assert cleaned["command"] == "clean" and cleaned["count"] >= 1
    assert all(i["deleted"] for i in cleaned["items"]) and not Path(cleaned["items"][0]["path"]).exists()
