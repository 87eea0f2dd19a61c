"""Plugin CLI commands through the real `kitaru` CLI: listed by `--help` without importing the plugin,
built and run through the plugin's `kitaru_cli` hook when used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.fakedists import CLI_BROKEN, CLI_PLUGIN, make_dist

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    make_dist(root, "kitaru-greet", "0.3.0", {"greet": "kitaru_greet_fake"}, {"kitaru_greet_fake": CLI_PLUGIN},
              cli={"greet": "kitaru_greet_fake"}, summary="Greets people from the CLI.")
    make_dist(root, "kitaru-cli-broken", "0.1.0", {"clibroken": "kitaru_cli_broken_fake"},
              {"kitaru_cli_broken_fake": CLI_BROKEN}, cli={"broken-cmd": "kitaru_cli_broken_fake"})
    (tmp_path / "marks").mkdir()
    return root


def kitaru(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, with the fake distributions installed on its path."""
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
            "KITARU_TEST_MARKS": str(site.parent / "marks"), **env}
    return subprocess.run([sys.executable, "-m", "kitaru.cli", *args], check=False, capture_output=True, text=True, env=full,
                          timeout=60)


def test_help_lists_declared_plugin_commands_without_importing_plugins(site: Path) -> None:
    r = kitaru(site, "--help")
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("greet"))
    assert "[plugin kitaru-greet] Greets people" in line
    assert "broken-cmd" in r.stdout and "shout" not in r.stdout
    assert not (site.parent / "marks" / "imported").exists(), "--help imported the plugin"


def test_plugin_command_runs_through_the_hook(site: Path) -> None:
    r = kitaru(site, "greet", "hello", "--name", "Ada")
    assert (r.returncode, r.stdout) == (0, "hello Ada from a plugin\n"), r.stderr
    assert (site.parent / "marks" / "imported").exists()
    r = kitaru(site, "greet", "--help")
    assert r.returncode == 0 and "hello" in r.stdout and "Say hello." in r.stdout
    r = kitaru(site, "shout", "quiet")  # added by the hook without a declaration: still runs
    assert (r.returncode, r.stdout) == (0, "QUIET\n"), r.stderr


def test_failing_hook_is_reported_and_other_commands_keep_working(site: Path) -> None:
    r = kitaru(site, "broken-cmd")
    assert r.returncode == 1
    assert "broken-cmd" in r.stderr and "cli hook exploded" in r.stderr and "kitaru plugins list" in r.stderr
    assert kitaru(site, "greet", "hello").returncode == 0
    assert kitaru(site, "stack", "list").returncode == 0


def test_unknown_command_is_still_a_usage_error(site: Path) -> None:
    r = kitaru(site, "no-such-command")
    assert r.returncode == 2 and "No such command" in r.stderr


def test_disabled_plugin_commands_are_neither_listed_nor_run(site: Path) -> None:
    for blocked in ("kitaru-greet", "greet"):  # by distribution or by plugin name
        r = kitaru(site, "--help", KITARU_DISABLE_PLUGINS=blocked)
        assert r.returncode == 0 and "greet" not in r.stdout and "broken-cmd" in r.stdout
    assert kitaru(site, "greet", "hello", KITARU_DISABLE_PLUGINS="all").returncode == 2
