"""The CLI never writes control characters from stored text (logs, failures, questions) to a terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.helpers import kitaru
from tests.support import on_backend

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rgone\u202eevil\x9b1m"
FLOW = f'''
import kitaru
from kitaru import checkpoint, flow

HOSTILE = {HOSTILE!r}

@checkpoint
def shout() -> str:
    print("line " + HOSTILE)
    return "ok"

@flow
def hostile() -> str:
    shout()
    kitaru.log(note=HOSTILE)
    raise RuntimeError("boom " + HOSTILE)

@flow
def asks() -> str:
    return kitaru.wait(schema=str, name="q", question="answer " + HOSTILE)
'''
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _check(out: str, err: str) -> None:
    assert not RAW.search(out) and not RAW.search(err), (out, err)


def test_stored_control_characters_are_escaped_in_human_and_json_output(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "flows.py").write_text(FLOW)
    with on_backend("embedded", tmp_path, monkeypatch):
        run = kitaru("run", "flows.py:hostile", cwd=tmp_path)
        assert run.returncode == 1
        _check("", run.stderr)  # stdout is the flow's own live output (this process ran it), not stored text
        listed = kitaru("executions", "list", "-o", "json", cwd=tmp_path)
        exec_id = json.loads(listed.stdout)["items"][0]["exec_id"]
        for args in (("executions", "logs", exec_id), ("executions", "get", exec_id), ("executions", "list")):
            result = kitaru(*args, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            _check(result.stdout, result.stderr)
        logs = kitaru("executions", "logs", exec_id, cwd=tmp_path).stdout
        assert "line \\x1b]0;pwned\\x07" in logs and "\\u202eevil" in logs
        doc = kitaru("executions", "logs", exec_id, "-o", "json", cwd=tmp_path)
        _check(doc.stdout, doc.stderr)
        assert any(HOSTILE in json.dumps(json.loads(doc.stdout)) or HOSTILE in i.get("message", "")
                   for i in json.loads(doc.stdout)["items"])  # JSON keeps the data, escaped
        kitaru("run", "flows.py:asks", cwd=tmp_path)
        pending = kitaru("executions", "input", "-i", cwd=tmp_path, input="\n")
        _check(pending.stdout, pending.stderr)
        assert "answer \\x1b]0;pwned" in pending.stdout + pending.stderr
