"""Run the real `kitaru` entry point in-process and capture what it prints."""

from __future__ import annotations

import json
from typing import Any

import pytest


def kitaru(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`kitaru ARGS…` through `kitaru.cli.main` (the console script): (exit code, stdout, stderr)."""
    from kitaru.cli import main

    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def kitaru_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """`kitaru ARGS… -o json`: exit 0 and exactly one compact JSON line on stdout."""
    code, out, err = kitaru(capsys, *args, "-o", "json")
    assert code == 0, (out, err)
    assert out.count("\n") == 1 and out.endswith("\n"), out
    return json.loads(out)  # type: ignore[no-any-return]


def json_error(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """`kitaru ARGS… -o json` that fails: exit 1, nothing on stdout, one JSON error line on stderr."""
    code, out, err = kitaru(capsys, *args, "-o", "json")
    assert code == 1, (out, err)
    assert out == "" and err.count("\n") == 1, (out, err)
    return json.loads(err)  # type: ignore[no-any-return]
