"""`-o json` as Kitaru 0.4 writes it: one line, dotted command names, item shapes, errors on stderr."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.cli import json_error, kitaru, kitaru_json

SUMMARY = {"exec_id", "flow_id", "flow_name", "status", "started_at", "ended_at", "stack_name", "status_reason",
           "pending_wait", "failure", "metadata", "checkpoint_count", "artifact_count"}


def test_executions_list_and_get_shapes(flows: Any, capsys: pytest.CaptureFixture[str]) -> None:
    exec_id = flows.pipeline.run(topic="ai").exec_id
    listed = kitaru_json(capsys, "executions", "list")
    assert listed["command"] == "executions.list" and listed["count"] == 1
    item = listed["items"][0]
    assert SUMMARY <= set(item)
    assert item["exec_id"] == exec_id and item["status"] == "completed" and item["stack_name"] == "default"
    assert item["checkpoint_count"] == 2 and item["artifact_count"] == 3  # research, write + saved "sources"
    got = kitaru_json(capsys, "executions", "get", exec_id)
    assert got["command"] == "executions.get"
    full = got["item"]
    assert SUMMARY | {"frozen_execution_spec", "original_exec_id", "checkpoints", "artifacts"} <= set(full)
    call = full["checkpoints"][0]
    assert {"call_id", "name", "checkpoint_type", "status", "started_at", "ended_at", "metadata", "original_call_id",
            "parent_call_ids", "failure", "attempts", "artifacts"} <= set(call)
    assert {"attempt_id", "status", "started_at", "ended_at", "metadata", "failure"} <= set(call["attempts"][0])
    artifact = next(a for a in full["artifacts"] if a["name"] == "sources")
    assert {"artifact_id", "name", "kind", "save_type", "producing_call", "metadata"} <= set(artifact)
    assert artifact["kind"] == "context" and artifact["producing_call"] == call["call_id"]


def test_waiting_and_failed_executions(flows: Any, capsys: pytest.CaptureFixture[str]) -> None:
    waiting = flows.review.run().exec_id
    item = kitaru_json(capsys, "executions", "get", waiting)["item"]
    wait = item["pending_wait"]
    assert {"wait_id", "name", "question", "schema", "metadata", "entered_waiting_at"} <= set(wait)
    assert wait["name"] == "approve" and item["status"] == "waiting" and "approve" in item["status_reason"]
    failed = flows.broken.run().exec_id
    failure = kitaru_json(capsys, "executions", "get", failed)["item"]["failure"]
    assert {"message", "exception_type", "traceback", "origin"} <= set(failure)
    assert failure["origin"] == "user_code" and failure["message"] == "no budget left"


def test_logs_items(flows: Any, capsys: pytest.CaptureFixture[str]) -> None:
    exec_id = flows.pipeline.run(topic="ai").exec_id
    doc = kitaru_json(capsys, "executions", "logs", exec_id)
    assert doc["command"] == "executions.logs" and doc["count"] == 2
    first = doc["items"][0]
    assert first["message"] == "researching ai" and first["source"] == "step"
    assert first["checkpoint_name"] == "research" and first["timestamp"].endswith("Z") and "level" in first
    assert all(value is not None for value in first.values())  # unset fields are left out, as the reference does
    runner = kitaru_json(capsys, "executions", "logs", exec_id, "--source", "runner")
    assert [e["message"] for e in runner["items"]] == ["flow body speaking"]


def test_stacks_and_secrets_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    stacks = kitaru_json(capsys, "stack", "list")
    assert stacks["command"] == "stack.list"
    default = stacks["items"][0]
    assert {"id", "name", "is_active"} <= set(default) and default["id"] and isinstance(default["id"], str)
    assert default["name"] == "default" and default["is_active"] is True
    current = kitaru_json(capsys, "stack", "current")["item"]
    assert {"id", "name", "is_active"} <= set(current) and current["is_active"] is True
    assert kitaru(capsys, "secrets", "set", "openai", "--OPENAI_API_KEY=sk-1")[0] == 0
    listed = kitaru_json(capsys, "secrets", "list")
    assert listed["command"] == "secrets.list"
    secret = listed["items"][0]
    assert {"id", "name", "visibility", "keys", "has_missing_values"} <= set(secret)
    assert secret["keys"] == ["OPENAI_API_KEY"] and secret["has_missing_values"] is False
    assert "sk-1" not in str(listed)


def test_errors_are_json_on_stderr_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    missing = json_error(capsys, "executions", "get", "no-such-execution")
    assert missing["command"] == "executions.get"
    assert "does not exist" in missing["error"]["message"] and missing["error"]["type"]
    bad_status = json_error(capsys, "executions", "list", "--status", "bogus")  # a usage error: exit 1 too
    assert bad_status["command"] == "executions.list" and "bogus" in bad_status["error"]["message"]
    no_id = json_error(capsys, "executions", "logs")  # a missing argument
    assert no_id["command"] == "executions.logs"
    grouped = json_error(capsys, "executions", "logs", "abc", "--grouped")
    assert "--grouped" in grouped["error"]["message"]
    unknown = json_error(capsys, "stack", "create", "x", "--type", "mainframe")
    assert unknown["command"] == "stack.create" and "mainframe" in unknown["error"]["message"]


def test_text_mode_keeps_exit_2_for_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kitaru(capsys, "executions", "list", "--status", "bogus")
    assert code == 2 and out == "" and "bogus" in err
    code, _, err = kitaru(capsys, "executions", "get", "no-such-execution")
    assert code == 2 and err.startswith("Error: execution 'no-such-execution' does not exist")


def test_action_commands_return_the_execution_shape(flows: Any, capsys: pytest.CaptureFixture[str]) -> None:
    waiting = flows.review.run().exec_id
    answered = kitaru_json(capsys, "executions", "input", waiting, "--value", "true")
    assert answered["command"] == "executions.input" and SUMMARY <= set(answered["item"])
    other = flows.review.run().exec_id
    cancelled = kitaru_json(capsys, "executions", "cancel", other)
    assert cancelled["command"] == "executions.cancel" and cancelled["item"]["status"] == "cancelled"
    assert SUMMARY | {"frozen_execution_spec", "checkpoints", "artifacts"} <= set(cancelled["item"])
