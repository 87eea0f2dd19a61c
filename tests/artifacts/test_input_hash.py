"""Input hashes are the same in every process; inputs without a stable encoding are never cached."""

from __future__ import annotations

import dataclasses
import enum
import os
import subprocess
import sys
import threading
from pathlib import Path

import kitaru
from kitaru.artifacts import hash_inputs
from kitaru.client import KitaruClient

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import dataclasses, enum, json, sys
from kitaru.artifacts import hash_inputs

class Color(enum.Enum):
    RED = "red"

@dataclasses.dataclass
class Point:
    x: int
    tags: frozenset

class Opaque:
    def __init__(self):
        self.items = [1, 2]

print(json.dumps([
    hash_inputs((1, "a", [2.5, None]), {"k": {"n": 1}})[0],
    hash_inputs(({"b", "a", "c"}, b"raw"), {})[0],
    hash_inputs((Point(1, frozenset({"x", "y", "z"})), Color.RED), {"t": (1, 2)})[0],
    hash_inputs((Opaque(),), {})[0],
]))
"""


def _hashes_in_a_new_process(seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True, env=env, timeout=60)
    return __import__("json").loads(out.stdout)


def test_hashes_agree_across_processes_with_different_hash_seeds() -> None:
    first, second = _hashes_in_a_new_process("1"), _hashes_in_a_new_process("2")
    assert first == second and all(h and len(h) == 64 for h in first)
    assert len(set(first)) == 4


def test_json_inputs_hash_their_compact_json_as_before() -> None:
    import hashlib

    digest, preview = hash_inputs((1, "a"), {"k": True})
    assert digest == hashlib.sha256(b'{"args":[1,"a"],"kwargs":{"k":true}}').hexdigest()
    assert preview == "1, 'a', k=True"


def test_an_input_without_stable_encoding_has_no_hash() -> None:
    assert hash_inputs((threading.Lock(),), {})[0] is None


class Mode(enum.Enum):
    FAST = 1


@dataclasses.dataclass
class Query:
    text: str


@kitaru.checkpoint(cache=True)
def answer(query: Query, mode: Mode, lock: object | None = None) -> str:
    return f"{query.text}:{mode.name}"


@kitaru.flow
def ask(with_lock: bool) -> str:
    return answer(Query("q"), Mode.FAST, threading.Lock() if with_lock else None)


def test_stable_inputs_hit_the_cache_and_unstable_ones_never_do() -> None:
    first = ask.run(False)
    assert first.wait(timeout=30) == "q:FAST"
    second = ask.run(False)
    assert second.wait(timeout=30) == "q:FAST"
    call = KitaruClient().executions.get(second.exec_id).checkpoints[0]
    assert call.input_hash and call.reused_from == first.exec_id  # a cache hit
    third = ask.run(True)
    assert third.wait(timeout=30) == "q:FAST"
    unstable = KitaruClient().executions.get(third.exec_id).checkpoints[0]
    assert unstable.input_hash is None and unstable.reused_from is None  # ran: no cache without a stable hash
