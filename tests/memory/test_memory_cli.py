"""`kitaru memory …` as a real subprocess, with `-o json`, on every backend."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import KITARU, cli_env, kitaru, kitaru_json


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    return tmp_path


def test_set_get_list_history_delete_scopes_with_json(cwd: Path) -> None:
    first = kitaru_json("memory", "set", "user/tone", "formal", "--scope", "chat", cwd=cwd)
    assert first["command"] == "memory.set"
    assert {k: first["item"][k] for k in ("scope", "key", "version", "value", "deleted")} == {
        "scope": "chat", "key": "user/tone", "version": 1, "value": "formal", "deleted": False}
    second = kitaru_json("memory", "set", "user/tone", '{"style": "casual"}', "--json", "-s", "chat", cwd=cwd)
    assert second["item"]["value"] == {"style": "casual"} and second["item"]["version"] == 2

    got = kitaru_json("memory", "get", "user/tone", "-s", "chat", cwd=cwd)
    assert got["command"] == "memory.get" and got["item"]["value"] == {"style": "casual"}
    assert kitaru_json("memory", "get", "user/tone", "-s", "chat", "--version", "1", cwd=cwd)["item"]["value"] == "formal"

    listed = kitaru_json("memory", "list", "--scope", "chat", cwd=cwd)
    assert listed["count"] == 1 and listed["items"][0]["key"] == "user/tone"

    deleted = kitaru_json("memory", "delete", "user/tone", "-s", "chat", cwd=cwd)
    assert deleted["item"]["deleted"] is True and deleted["item"]["version"] == 3
    assert kitaru_json("memory", "list", "-s", "chat", cwd=cwd)["count"] == 0
    history = kitaru_json("memory", "history", "user/tone", "-s", "chat", cwd=cwd)
    assert [(h["version"], h["deleted"]) for h in history["items"]] == [(3, True), (2, False), (1, False)]

    scopes = kitaru_json("memory", "scopes", cwd=cwd)
    assert [(s["scope"], s["keys"], s["versions"]) for s in scopes["items"]] == [("chat", 0, 3)]

    human = kitaru("memory", "get", "user/tone", "-s", "chat", cwd=cwd)
    assert human.returncode == 0 and "deleted" in human.stdout


def test_purge_purge_scope_compact_compaction_log_reindex_with_json(cwd: Path) -> None:
    for value in ("a", "b", "c"):
        kitaru_json("memory", "set", "k", value, cwd=cwd)
    purged = kitaru_json("memory", "purge", "k", "--keep", "1", cwd=cwd)
    assert purged["command"] == "memory.purge"
    assert purged["item"]["metadata"]["removed"] == {"k": [2, 1]}
    kitaru_json("memory", "set", "k", "d", cwd=cwd)
    whole = kitaru_json("memory", "purge-scope", "default", "--keep", "0", cwd=cwd)
    assert whole["command"] == "memory.purge-scope" and whole["item"]["metadata"]["removed_count"] == 2

    kitaru_json("memory", "set", "fact", "sky is blue", "-s", "notes", cwd=cwd)
    env = cli_env(KITARU_LLM_MOCK_RESPONSE="the sky is blue")
    done = subprocess.run([*KITARU, "memory", "compact", "-s", "notes", "-m", "openai/gpt-4o-mini", "-o", "json"], cwd=cwd, env=env,
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    compacted = json.loads(done.stdout)
    assert compacted["command"] == "memory.compact"
    assert (compacted["item"]["key"], compacted["item"]["version"]) == ("_compaction/summary", 1)
    summary = kitaru_json("memory", "get", "_compaction/summary", "-s", "notes", cwd=cwd)
    assert summary["item"]["value"] == "the sky is blue"
    log = kitaru_json("memory", "compaction-log", cwd=cwd)
    assert log["count"] == 1 and log["items"][0]["metadata"]["sources"] == [{"key": "fact", "version": 1}]

    counts = kitaru_json("memory", "reindex", cwd=cwd)
    assert counts["command"] == "memory.reindex" and counts["item"] == {"keys": 2, "scopes": 1}


def test_bad_input_is_a_usage_error_as_json(cwd: Path) -> None:
    bad = kitaru("memory", "set", "a:b", "v", "-o", "json", cwd=cwd)
    assert bad.returncode == 1 and "invalid memory key" in bad.stderr  # -o json: errors as JSON, exit 1 (0.4)
    reserved = kitaru("memory", "set", "_compaction/x", "v", cwd=cwd)
    assert reserved.returncode == 2 and "reserved" in reserved.stderr
    missing = kitaru("memory", "get", "nope", "-o", "json", cwd=cwd)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert kitaru_json("memory", "scopes", cwd=cwd)["count"] == 0
