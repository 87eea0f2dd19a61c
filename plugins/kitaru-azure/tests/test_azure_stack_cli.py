"""An azure stack registered through the CLI: validation errors name the file line and the field; with the plugin
gone the stack still lists and says which package to install."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from kitaru.testing._forked import run_kitaru


def kitaru(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_kitaru(list(args), cwd=os.getcwd(), env={**os.environ, **env}, module=True)  # forked `python -m kitaru.cli`


GOOD = ("name: az\norchestrator: {flavor: local}\nartifact_store:\n  flavor: azure\n  path: az://agents/kitaru\n"
        "  account_name: acme1\n  account_key: {secret: azure-acme}\n"
        "container_registry: {flavor: acr, uri: acmeagents.azurecr.io/agents}\n")


def test_azure_stack_via_cli_and_missing_plugin(tmp_path: Path) -> None:
    spec = tmp_path / "az.yaml"
    cases = {
        "  path: az://agents/kitaru\n": ("  path: gs://agents/kitaru\n",
                                         f"{spec}:5: artifact_store.path: Value error, must be an az:// URI"),
        "  account_name: acme1\n": ("  account_name: acme1\n  max_attempts: 0\n",
                                    f"{spec}:7: artifact_store.max_attempts: Input should be greater than or equal to 1"),
        "  account_key: {secret: azure-acme}\n": ("  account_key: abc123plaintext\n",
                                                  "artifact_store.account_key: plaintext secrets are not allowed"),
        "  account_name: acme1\n ": ("  account_name: acme1\n  account_url: http://storage.example.com\n ",
                                     "artifact_store.account_url: Value error, must use https"),
        "acmeagents.azurecr.io/agents": ("docker.io/agents", "container_registry.uri: Value error, must look like"),
        "  flavor: azure\n": ("  flavor: azure\n  sas_scope: prefix\n", "artifact_store.sas_scope: Input should be"),
    }
    for good, (bad, message) in cases.items():
        assert good in GOOD, good
        spec.write_text(GOOD.replace(good, bad, 1))
        r = kitaru("stack", "register", "-f", str(spec))
        assert r.returncode == 2 and message in r.stderr, (bad, r.stderr)
    assert "az" not in {s["name"] for s in json.loads(kitaru("stack", "list", "-o", "json").stdout)["items"]}

    spec.write_text(GOOD)
    assert kitaru("stack", "register", "-f", str(spec), "--activate").returncode == 0
    items = {s["name"]: s for s in json.loads(kitaru("stack", "list", "-o", "json").stdout)["items"]}
    assert items["az"]["ready"] and items["az"]["active"]
    shown = json.loads(kitaru("stack", "show", "az", "-o", "json").stdout)["item"]
    assert shown["spec"]["artifact_store"]["account_key"] == {"secret": "azure-acme"}
    r = kitaru("stack", "show", "az")
    assert r.returncode == 0 and "else the whole container: use one container per stack" in r.stdout, r.stdout
    r = kitaru("plugins", "list")
    assert r.returncode == 0 and "kitaru-azure" in r.stdout
    r = kitaru("stack", "list", KITARU_DISABLE_PLUGINS="azure")
    assert r.returncode == 0 and "cannot run" in r.stdout and "kitaru-azure" in r.stdout
    r = kitaru("stack", "show", "az", "-o", "json", KITARU_DISABLE_PLUGINS="azure")
    assert not json.loads(r.stdout)["item"]["ready"]


def test_abfs_paths_register_too(tmp_path: Path) -> None:
    spec = tmp_path / "adls.yaml"
    spec.write_text("name: adls\norchestrator: {flavor: local}\nartifact_store:\n  flavor: azure\n"
                    "  path: abfss://agents@acme1.dfs.core.windows.net/kitaru\n  sas_scope: directory\n")
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 0, r.stderr
    spec.write_text(spec.read_text().replace("dfs.core.windows.net", "blob.core.windows.net"))
    r = kitaru("stack", "register", "-f", str(spec))
    assert r.returncode == 2 and "artifact_store" in r.stderr and "abfss://container@account" in r.stderr, r.stderr
