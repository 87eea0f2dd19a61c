"""The `kitaru` CLI in-process through typer's CliRunner: secrets, models, clean, status/info,
JSON shapes, usage errors, and the helpers behind them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kitaru.cli._app import app


def cli(*args: str, input: str | None = None) -> Any:
    """Invoke the CLI in-process."""
    return CliRunner().invoke(app, list(args), input=input)


def doc(*args: str, code: int = 0) -> dict[str, Any]:
    """Invoke with `-o json`; check the exit code; return the one JSON document on stdout."""
    result = cli(*args, "-o", "json")
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_secrets_set_show_list_delete() -> None:
    result = cli("secrets", "set", "openai", "--OPENAI_API_KEY=sk-123", "--ORG", "acme")
    assert result.exit_code == 0, result.stderr
    assert "OPENAI_API_KEY" in result.stdout and "sk-123" not in result.stdout
    shown = doc("secrets", "show", "openai")
    assert shown == {"command": "secrets.show", "item": {
        "id": "openai", "name": "openai", "visibility": "public", "keys": ["OPENAI_API_KEY", "ORG"],
        "has_missing_values": False, "values": {"OPENAI_API_KEY": "***", "ORG": "***"}}}
    revealed = cli("secrets", "show", "openai", "--show-values")
    assert "sk-123" in revealed.stdout
    listed = doc("secrets", "list")
    assert listed["count"] == 1 and listed["items"][0]["keys"] == ["OPENAI_API_KEY", "ORG"]
    assert listed["items"][0]["updated_at"].endswith("Z") and "sk-123" not in json.dumps(listed)
    assert "openai" in cli("secrets", "list").stdout
    assert doc("secrets", "delete", "openai")["item"] == {"name": "openai", "deleted": True}
    missing = cli("secrets", "delete", "openai")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    assert cli("secrets", "show", "openai").exit_code == 2
    assert doc("secrets", "list")["count"] == 0


@pytest.mark.parametrize("args", [[], ["positional"], ["--=x"], ["--KEY"]])
def test_secrets_set_rejects_bad_pairs(args: list[str]) -> None:
    result = cli("secrets", "set", "s", *args)
    assert result.exit_code == 2, result.stdout
    assert "--KEY=value" in result.stderr or "value" in result.stderr


def test_model_register_and_list() -> None:
    assert "No model aliases" in cli("model", "list").stdout
    registered = doc("model", "register", "fast", "--model", "openai/gpt-4o-mini", "--secret", "openai")
    assert registered["item"] == {"alias": "fast", "model": "openai/gpt-4o-mini", "secret": "openai"}
    cli("model", "register", "local", "--model", "ollama/llama3")
    listed = doc("model", "list")
    assert [a["alias"] for a in listed["items"]] == ["fast", "local"] and listed["count"] == 2
    assert "openai/gpt-4o-mini" in cli("model", "list").stdout
    bad = cli("model", "register", "a/b", "--model", "openai/x")
    assert bad.exit_code == 2 and "alias" in bad.stderr
    assert cli("model", "register", "x").exit_code == 2  # --model is required


def test_status_and_info(kitaru_home: Path) -> None:
    status = doc("status")["item"]
    assert status["home"] == str(kitaru_home) and status["home_source"] == "KITARU_HOME"
    assert status["connection"]["mode"] == "embedded" and status["stack"] == "default"
    assert status["pending_waits"] == 0 and status["latest_execution"] is None
    assert "embedded" in cli("status").stdout
    info = doc("info")["item"]
    from kitaru import __version__

    assert info["version"] == __version__ and info["python"] and isinstance(info["plugins"], list)
    assert __version__ in cli("info").stdout


def test_clean_project_dry_run_confirm_and_yes(kitaru_home: Path) -> None:
    cli("init", str(kitaru_home.parent / "unused"))
    doc("secrets", "list")  # opens (creates) the store in KITARU_HOME
    assert (kitaru_home / "kitaru.db").exists()
    dry = doc("clean", "project", "--dry-run")
    assert dry["items"][0]["path"] == str(kitaru_home) and dry["items"][0]["deleted"] is False
    assert kitaru_home.exists()
    refused = cli("clean", "project")  # no terminal, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr and kitaru_home.exists()
    done = doc("clean", "project", "--yes")
    assert done["items"][0]["deleted"] is True and not kitaru_home.exists()
    assert "Nothing to clean" in cli("clean", "project", "--yes").stdout
    assert cli("clean", "everything").exit_code == 2


def test_clean_refuses_non_kitaru_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    monkeypatch.setenv("KITARU_HOME", str(precious))
    result = cli("clean", "project", "--yes")
    assert result.exit_code == 2 and "does not look like a Kitaru directory" in result.stderr
    assert (precious / "thesis.txt").exists()


def test_clean_global_uses_the_user_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "kitaru").mkdir(parents=True)
    listed = doc("clean", "global", "--dry-run")
    assert [i["path"] for i in listed["items"]] == [str((tmp_path / "xdg" / "kitaru").resolve())]
    doc("secrets", "list")  # creates the KITARU_HOME store, which `all` covers too
    assert doc("clean", "all", "--yes")["count"] == 2
    assert not (tmp_path / "xdg" / "kitaru").exists()


def test_empty_list_and_json_shapes() -> None:
    listed = doc("executions", "list")
    assert listed == {"command": "executions.list", "items": [], "count": 0}
    assert "No executions" in cli("executions", "list").stdout
    waits = cli("executions", "input", "-i", "-o", "json")
    assert waits.exit_code == 0 and json.loads(waits.stdout) == {"command": "executions.input", "items": [],
                                                                  "count": 0}


def test_usage_errors_exit_2() -> None:
    assert cli("executions", "list", "--limit", "0").exit_code == 2
    assert cli("executions", "list", "--page", "x").exit_code == 2
    assert cli("executions", "logs").exit_code == 2  # missing EXEC_ID
    assert cli("executions", "replay", "abc").exit_code == 2  # missing --from
    assert cli("executions", "input", "-i", "--value", "1").exit_code == 2
    assert cli("run", "no-colon").exit_code == 2
    assert cli("executions", "list", "-o", "JSON").exit_code == 0  # choices are case-insensitive


def test_unexpected_errors_have_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import kitaru.client

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(kitaru.client.ExecutionsAPI, "list", broken)
    result = cli("executions", "list")
    assert result.exit_code == 1
    assert "unexpected RuntimeError: disk on fire" in result.stderr and "KITARU_DEBUG=1" in result.stderr
    monkeypatch.setenv("KITARU_DEBUG", "1")
    assert isinstance(cli("executions", "list").exception, RuntimeError)


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from kitaru.cli import main

    assert main(["executions", "list", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 0
    assert main(["executions", "get", "nope"]) == 2
    assert main(["--version"]) == 0


def test_parse_pairs_and_targets() -> None:
    from kitaru.cli._run import split_target
    from kitaru.cli._secrets import parse_pairs
    from kitaru.errors import KitaruUsageError

    assert parse_pairs(["--A=1", "--B", "two", "--C=x=y"]) == {"A": "1", "B": "two", "C": "x=y"}
    assert split_target("agents/research.py:research") == ("agents/research.py", "research")
    assert split_target("pkg.mod:flow") == ("pkg.mod", "flow")
    for bad in ("flow", ":flow", "file.py:", "file.py:not-valid"):
        with pytest.raises(KitaruUsageError):
            split_target(bad)


def test_render_helpers() -> None:
    from kitaru.cli._render import fmt_duration, fmt_size

    assert [fmt_duration(x) for x in (None, 0.1234, 12.34, 125, 3725)] == ["-", "0.12s", "12.3s", "2m05s", "1h02m"]
    assert [fmt_size(x) for x in (None, 12, 2048)] == ["-", "12B", "2.0KB"]


def test_simple_values_parse_without_pydantic() -> None:
    import subprocess
    import sys

    code = ("import sys; from kitaru.cli import main; rc = main(['executions', 'list', '--limit', '3', '-s',"
            " 'FAILED', '-o', 'json']); assert rc == 0, rc; assert 'pydantic' not in sys.modules, 'pydantic loaded'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _help(command: Any, args: list[str]) -> str:
    """Run a click command in-process and return its stdout."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.suppress(SystemExit):
        command.main(args, prog_name="kitaru")
    return buf.getvalue()


@pytest.mark.parametrize("args", [["--help"], ["executions", "--help"], ["secrets", "set", "--help"]])
def test_lazy_root_behaves_like_typers_eager_build(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import typer.main

    from kitaru.cli._lazy import build_root

    monkeypatch.setenv("KITARU_DISABLE_PLUGINS", "all")  # typer's own build knows no plugin commands

    assert _help(build_root(app), args) == _help(typer.main.get_command(app), args)


def test_lazy_root_builds_only_the_sub_app_in_use() -> None:
    from kitaru.cli._lazy import build_root

    root = build_root(app)
    assert root.commands.pending_help("executions")
    assert root.commands.pending_help("secrets")
    assert list(root.commands)[:4] == ["init", "status", "info", "run"]
    _help(root, ["executions", "list", "-o", "json"])
    assert root.commands.pending_help("executions") is None  # built on use
    assert root.commands.pending_help("secrets")  # untouched


def test_status_reports_an_unreachable_server_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    monkeypatch.setenv("KITARU_SERVER_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.delenv("KITARU_CLIENT_RETRY_SECONDS", raising=False)
    start = time.monotonic()
    result = cli("status", "-o", "json")
    assert time.monotonic() - start < 20
    assert result.exit_code == 1
    item = json.loads(result.stdout)["item"]
    assert item["connection"] == {"mode": "server", "url": "http://127.0.0.1:9", "source": "KITARU_SERVER_URL"}
    assert "unreachable" in item["error"]
    assert "KITARU_CLIENT_RETRY_SECONDS" not in os.environ  # the short retry window does not leak
