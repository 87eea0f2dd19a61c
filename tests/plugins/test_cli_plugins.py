"""`kitaru plugins list`: shows distributions, versions, flavors and load failures; failures break nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.plugins.fakedists import BROKEN_IMPORT, GOOD, make_dist
from tests.stacks.test_cli_stack import kitaru


def test_plugins_list_reports_broken_plugin_and_other_commands_still_work(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_dist(site, "kitaru-mem", "1.2.3", {"mem": "kitaru_mem_fake"}, {"kitaru_mem_fake": GOOD})
    make_dist(site, "kitaru-broken", "0.0.1", {"broken": "kitaru_broken_fake"}, {"kitaru_broken_fake": BROKEN_IMPORT})
    env = {"PYTHONPATH": str(site)}
    r = kitaru("plugins", "list", "-o", "json", env=env)
    assert r.returncode == 0, r.stderr
    items = {p["name"]: p for p in json.loads(r.stdout)["items"]}
    assert items["local"]["builtin"] and items["local"]["status"] == "loaded"
    assert items["mem"]["distribution"] == "kitaru-mem" and items["mem"]["version"] == "1.2.3"
    assert items["mem"]["flavors"] == [{"kind": "artifact_store", "name": "mem"}]
    assert items["broken"]["status"] == "failed" and "kitaru_dependency_that_is_not_installed" in items["broken"]["error"]
    human = kitaru("plugins", "list", env=env).stdout
    assert "kitaru-broken" in human and "failed" in human
    assert kitaru("stack", "list", env=env).returncode == 0
    r = kitaru("plugins", "list", "-o", "json", env={**env, "KITARU_DISABLE_PLUGINS": "all"})
    statuses = {p["name"]: p["status"] for p in json.loads(r.stdout)["items"]}
    assert statuses["local"] == "loaded" and statuses["mem"] == statuses["broken"] == "disabled"
    assert os.environ.get("KITARU_HOME")
