"""The `kitaru` CLI through real subprocesses on real executions: help, init, run, list/get/logs,
input, replay, resume, retry, cancel, JSON shapes, exit codes and bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kitaru.cli._app import app
from tests.cli.helpers import KITARU, cli_env, client, kitaru, kitaru_json, run_flow, wait_until


def inproc(*args: str) -> tuple[int, str, str]:
    """The same CLI in-process (typer's CliRunner): for the variants that need no fresh process."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def inproc_json(*args: str) -> dict:
    code, out, err = inproc(*args, "-o", "json")
    assert code == 0, (out, err)
    return json.loads(out)


def test_help_lists_every_command(project: Path) -> None:
    result = kitaru("--help", cwd=project)
    assert result.returncode == 0, result.stderr
    for command in ("init", "status", "info", "run", "clean", "executions", "secrets", "model"):
        assert command in result.stdout
    sub = kitaru("executions", "--help", cwd=project)
    assert sub.returncode == 0
    for command in ("list", "get", "logs", "input", "replay", "resume", "retry", "cancel"):
        assert command in sub.stdout
    assert "--follow" in kitaru("executions", "logs", "-h", cwd=project).stdout
    assert kitaru("--version", cwd=project).stdout.startswith("kitaru ")


def test_init_creates_project_store_idempotently(tmp_path: Path) -> None:
    target = tmp_path / "proj"
    first = kitaru("init", str(target), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Initialised" in first.stdout
    assert (target / ".kitaru" / "kitaru.db").is_file()
    assert (target / ".kitaru" / "artifacts").is_dir()
    doc = kitaru_json("init", str(target), cwd=tmp_path)
    assert doc["command"] == "init" and doc["item"]["created"] is False
    assert doc["item"]["home"] == str((target / ".kitaru").resolve())
    # without KITARU_HOME, commands inside the project use its .kitaru/
    env = cli_env()
    env.pop("KITARU_HOME")
    listed = subprocess.run([*KITARU, "status", "-o", "json"], cwd=target, env=env, capture_output=True, text=True,
                            timeout=60)
    assert json.loads(listed.stdout)["item"]["home"] == str((target / ".kitaru").resolve())


def test_run_list_get_logs_on_a_real_execution(project: Path) -> None:
    text = kitaru("run", "flows.py:research", "--args", '{"topic": "durability"}', cwd=project)
    assert text.returncode == 0, text.stderr
    assert "completed" in text.stdout
    assert not (project / "main_ran.flag").exists(), "kitaru run must not execute the file's __main__ block"
    by_module = kitaru("run", "flows:research", "-o", "json", cwd=project)  # MODULE:FLOW works too
    assert by_module.returncode == 0, by_module.stderr
    item = json.loads(by_module.stdout)["item"]
    assert item["status"] == "completed" and item["flow_name"] == "research"
    assert item["created_at"].endswith("Z")

    listed = kitaru_json("executions", "list", cwd=project)
    assert listed["command"] == "executions.list" and listed["count"] == 2 == len(listed["items"])
    assert listed["items"][0]["exec_id"] == item["exec_id"]  # newest first
    assert inproc_json("executions", "list", "--limit", "1")["count"] == 1
    assert inproc_json("executions", "list", "--size", "1", "--page", "2")["count"] == 1
    assert inproc_json("executions", "list", "--status", "failed")["count"] == 0
    table = kitaru("executions", "list", "--flow", "research", cwd=project)
    assert table.returncode == 0 and "research" in table.stdout and "\x1b[" not in table.stdout

    got = kitaru_json("executions", "get", item["exec_id"][:8], cwd=project)  # a unique prefix works
    assert got["command"] == "executions.get"
    assert [c["invocation_id"] for c in got["item"]["checkpoints"]] == ["fetch", "summarize"]
    human = kitaru("executions", "get", item["exec_id"], cwd=project)
    assert "Checkpoints" in human.stdout and "summarize" in human.stdout

    logs = kitaru_json("executions", "logs", item["exec_id"], cwd=project)
    assert logs["command"] == "executions.logs"
    assert [e["message"] for e in logs["items"]] == ["fetching ai", "summarizing"]
    only = inproc_json("executions", "logs", item["exec_id"], "--checkpoint", "summarize")
    assert [e["message"] for e in only["items"]] == ["summarizing"]
    first = inproc_json("executions", "logs", item["exec_id"], "--limit", "1")  # Kitaru 0.4: at most N, the first
    assert [e["message"] for e in first["items"]] == ["fetching ai"]
    plain = kitaru("executions", "logs", item["exec_id"], cwd=project)
    assert plain.stdout.splitlines() == ["fetching ai", "summarizing"]
    detailed = kitaru("executions", "logs", item["exec_id"], "-vv", cwd=project)
    assert "[fetch] fetching ai" in detailed.stdout


def test_failed_run_exits_1_then_retry_and_resume(project: Path) -> None:
    (project / "fail.flag").write_text("1")
    failed = kitaru("run", "flows.py:fragile", cwd=project)
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "retry" in failed.stderr and "Traceback" not in failed.stderr
    item = client().executions.latest().to_dict()
    second = run_flow(project, "fragile", code=1)
    assert second["status"] == "failed" and second["failure"]["checkpoint"] == "flaky"
    assert inproc("executions", "retry", "nonexistent-id")[0] == 2
    (project / "fail.flag").unlink()

    retried = kitaru_json("executions", "retry", item["exec_id"], cwd=project)
    assert retried["command"] == "executions.retry"
    assert client().executions.wait(item["exec_id"], timeout=30) == "notes on ai!"
    code, _, err = inproc("executions", "retry", item["exec_id"])  # completed: nothing to retry
    assert code == 1 and "only failed executions" in err

    resumed = kitaru_json("executions", "resume", second["exec_id"], cwd=project)  # resume continues failed ones
    assert resumed["item"]["exec_id"] == second["exec_id"]
    assert client().executions.wait(second["exec_id"], timeout=30) == "notes on ai!"


def test_input_answers_the_single_pending_wait(project: Path) -> None:
    item = run_flow(project, "approval")
    assert item["status"] == "waiting"
    assert item["pending_waits"][0]["question"] == "Publish ai?"

    bad = kitaru("executions", "input", "--value", '"sure"', cwd=project)
    assert bad.returncode == 2 and "boolean" in bad.stderr and "still pending" in bad.stderr
    code, _, err = inproc("executions", "input", item["exec_id"], "--value", "yes please")
    assert code == 2 and "not valid JSON" in err
    code, _, err = inproc("executions", "input", item["exec_id"])  # stdin is not a terminal
    assert code == 2 and "--value" in err
    assert inproc("executions", "input", "--value", "true", "--abort")[0] == 2
    code, _, err = inproc("executions", "resume", item["exec_id"])
    assert code == 1 and "executions input" in err
    assert client().executions.get(item["exec_id"]).pending_waits, "rejected answers change nothing"

    answered = kitaru_json("executions", "input", "--value", "true", cwd=project)  # auto-selects the only wait
    assert answered["command"] == "executions.input" and answered["item"]["exec_id"] == item["exec_id"]
    assert client().executions.wait(item["exec_id"], timeout=30) == {"notes": "notes on ai", "approved": True}
    code, _, err = inproc("executions", "input", "--value", "true")
    assert code == 1 and "no pending wait" in err


def test_input_with_several_waiting_needs_an_id_and_abort_cancels(project: Path) -> None:
    first = run_flow(project, "approval")
    second = run_flow(project, "approval", "--args", '{"topic": "ml"}')
    ambiguous = kitaru("executions", "input", "--value", "true", cwd=project)
    assert ambiguous.returncode == 2 and first["exec_id"] in ambiguous.stderr and second["exec_id"] in ambiguous.stderr
    aborted = kitaru_json("executions", "input", second["exec_id"], "--abort", cwd=project)
    assert aborted["item"]["exec_id"] == second["exec_id"]
    wait_until(lambda: client().executions.get(second["exec_id"]).status.value == "cancelled")
    cancelled = kitaru_json("executions", "cancel", first["exec_id"], cwd=project)
    assert cancelled["command"] == "executions.cancel" and cancelled["item"]["status"] == "cancelled"


def test_replay_from_a_checkpoint_with_overrides(project: Path) -> None:
    item = run_flow(project, "research", "--args", '{"topic": "ai"}')
    doc = kitaru_json("executions", "replay", item["exec_id"], "--from", "summarize", cwd=project)
    new = doc["item"]
    assert doc["command"] == "executions.replay" and new["original_exec_id"] == item["exec_id"]
    assert client().executions.wait(new["exec_id"], timeout=30) == "NOTES ON AI"

    forked = kitaru_json("executions", "replay", item["exec_id"], "--from", "fetch", "--args", '{"topic": "ml"}',
                         cwd=project)["item"]
    assert client().executions.wait(forked["exec_id"], timeout=30) == "NOTES ON ML"
    overridden = kitaru_json("executions", "replay", item["exec_id"], "--from", "summarize", "--overrides",
                             '{"checkpoint.fetch": "patched"}', cwd=project)["item"]
    assert client().executions.wait(overridden["exec_id"], timeout=30) == "PATCHED"

    before = inproc_json("executions", "list")["count"]
    unknown = kitaru("executions", "replay", item["exec_id"], "--from", "nope", cwd=project)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    code, _, err = inproc("executions", "replay", item["exec_id"], "--from", "fetch", "--args", "[1]")
    assert code == 2 and "JSON object" in err
    code, _, err = inproc("executions", "replay", item["exec_id"], "--from", "fetch", "--overrides", "{x")
    assert code == 2 and "--overrides is not valid JSON" in err
    assert inproc_json("executions", "list")["count"] == before, "bad input creates nothing"


def test_logs_follow_streams_json_lines_until_the_end(project: Path) -> None:
    item = run_flow(project, "ticker", "--args", '{"n": 2}')
    ambiguous = kitaru("executions", "replay", item["exec_id"], "--from", "tick", cwd=project)
    assert ambiguous.returncode == 2 and "ambiguous" in ambiguous.stderr and "tick_2" in ambiguous.stderr
    new = kitaru_json("executions", "replay", item["exec_id"], "--from", f"{item['exec_id']}:tick", "--args",
                      '{"n": 12}', cwd=project)["item"]
    followed = kitaru("executions", "logs", new["exec_id"], "--follow", "--interval", "0.1", "-o", "json",
                      cwd=project, timeout=60)
    assert followed.returncode == 0, followed.stderr
    events = [json.loads(line) for line in followed.stdout.splitlines()]
    assert all(e["command"] == "executions.logs" for e in events)
    lines = [e["item"] for e in events if e["event"] == "log"]
    assert [e["message"] for e in lines] == [f"tick {i}" for i in range(12)]
    assert all(e["exec_id"] == new["exec_id"] and e["timestamp"].endswith("Z") for e in lines)
    assert events[-1] == {"command": "executions.logs", "event": "terminal",
                          "item": {"status": "completed", "message": "Execution completed successfully"}}
    assert client().executions.get(new["exec_id"]).status.value == "completed"
    human = kitaru("executions", "logs", new["exec_id"], "-f", cwd=project, timeout=60)
    assert "tick 11" in human.stdout and "completed" in human.stdout


def test_errors_are_one_sentence_without_traceback(project: Path) -> None:
    missing = kitaru("executions", "get", "does-not-exist", cwd=project)
    assert missing.returncode == 2
    assert missing.stderr.startswith("Error: execution 'does-not-exist' does not exist")
    assert "kitaru executions list" in missing.stderr and "Traceback" not in missing.stderr
    as_json = kitaru("executions", "cancel", "does-not-exist", "-o", "json", cwd=project)
    doc = json.loads(as_json.stderr)  # Kitaru 0.4: JSON errors on stderr, exit 1
    assert as_json.returncode == 1 and as_json.stdout == ""
    assert doc["command"] == "executions.cancel" and doc["error"]["exit_code"] == 1
    debug = kitaru("executions", "get", "does-not-exist", cwd=project, env=cli_env(KITARU_DEBUG="1"))
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert kitaru("executions", "list", "--status", "bogus", cwd=project).returncode == 2
    assert kitaru("executions", "list", "-o", "yaml", cwd=project).returncode == 2
    assert kitaru("nonsense", cwd=project).returncode == 2


def test_run_rejects_bad_targets(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        ("flows.py:not_a_flow",): "not a @flow",
        ("flows.py:absent",): "no longer defined",
        ("flows.py:research", "--stack", "nope"): "stack 'nope' is not registered",
    }
    for target, message in cases.items():
        result = kitaru("run", *target, cwd=project)
        assert result.returncode == 2, (target, result.stderr)
        assert message in result.stderr, (target, result.stderr)
        assert "Traceback" not in result.stderr
    monkeypatch.chdir(project)  # in-process: targets resolve against the current directory
    for target, message in {"flows.py": "FILE.py:FLOW", "missing.py:research": "does not exist",
                            "no_such_module_xyz:flow": "cannot import module"}.items():
        code, _, err = inproc("run", target)
        assert code == 2 and message in err, (target, err)
    code, _, err = inproc("run", "flows.py:research", "--args", "{not json")
    assert code == 2 and "--args is not valid JSON" in err
    wrong_input = kitaru("run", "flows.py:research", "--args", '{"nope": 1}', cwd=project)
    assert wrong_input.returncode == 2 and "invalid arguments" in wrong_input.stderr
    assert kitaru_json("executions", "list", cwd=project)["count"] == 0
