"""`kitaru.memory` outside a flow: versions, tombstones, history, list, scopes, validation, values in the artifact store."""

from __future__ import annotations

import pytest

import kitaru
from kitaru.client import KitaruClient


def test_set_get_history_delete_and_tombstones() -> None:
    e1 = kitaru.memory.set("user/tone", "formal")
    e2 = kitaru.memory.set("user/tone", {"style": "casual", "emoji": False})
    assert (e1.version, e2.version) == (1, 2) and e2.scope == "default" and e2.scope_type == "namespace"
    assert kitaru.memory.get("user/tone") == {"style": "casual", "emoji": False}
    assert kitaru.memory.get("user/tone", version=1) == "formal"
    assert kitaru.memory.get("missing") is None and kitaru.memory.get("missing", "fallback") == "fallback"

    tomb = kitaru.memory.delete("user/tone")
    assert tomb is not None and tomb.deleted and tomb.version == 3 and tomb.value is None
    assert kitaru.memory.get("user/tone") is None
    assert kitaru.memory.get("user/tone", "gone") == "gone"
    assert kitaru.memory.delete("user/tone") is None  # nothing live: no second tombstone
    history = kitaru.memory.history("user/tone")
    assert [(h.version, h.deleted) for h in history] == [(3, True), (2, False), (1, False)]
    assert [h.value for h in history] == [None, {"style": "casual", "emoji": False}, "formal"]

    again = kitaru.memory.set("user/tone", "terse")  # a deleted key can be written again
    assert again.version == 4 and kitaru.memory.get("user/tone") == "terse"


def test_list_shows_live_keys_of_one_scope_by_prefix() -> None:
    kitaru.memory.set("a/1", 1)
    kitaru.memory.set("a/2", 2)
    kitaru.memory.set("b", 3)
    kitaru.memory.set("a_x", "underscore is literal, not a wildcard")
    kitaru.memory.set("a/1", 10)
    kitaru.memory.set("other", "elsewhere", scope="team.shared")
    kitaru.memory.delete("a/2")
    assert [(e.key, e.version, e.value) for e in kitaru.memory.list()] == [
        ("a/1", 2, 10), ("a_x", 1, "underscore is literal, not a wildcard"), ("b", 1, 3)]
    assert [e.key for e in kitaru.memory.list("a/")] == ["a/1"]
    assert [e.key for e in kitaru.memory.list(include_deleted=True)] == ["a/1", "a/2", "a_x", "b"]
    assert [e.key for e in kitaru.memory.list(scope="team.shared")] == ["other"]
    scopes = {s["scope"]: s for s in KitaruClient().memories.scopes()}
    assert scopes["default"]["keys"] == 3 and scopes["default"]["versions"] == 6
    assert scopes["team.shared"] == {**scopes["team.shared"], "keys": 1, "versions": 1, "scope_type": "namespace"}


def test_values_live_in_the_artifact_store_as_content_addressed_blobs(kitaru_home) -> None:
    big = {"notes": ["x" * 100] * 50}
    entry = kitaru.memory.set("notes", big)
    assert entry.ref is not None and set(entry.ref) >= {"sha256", "size", "serializer", "store"}
    blob = kitaru_home / "artifacts" / "blobs" / "sha256" / entry.ref["sha256"][:2] / entry.ref["sha256"]
    assert blob.exists() and blob.stat().st_size == entry.ref["size"]
    blob.write_bytes(blob.read_bytes().replace(b"x", b"y"))  # corrupt it: a read is verified, never trusted
    with pytest.raises(kitaru.KitaruBackendError, match="corrupted"):
        kitaru.memory.get("notes")


@pytest.mark.parametrize("key", ["has:colon", "", "with space", "tab\t", "ünïcode", "x" * 256, "a*b", None, 7])
def test_invalid_keys_are_usage_errors_and_store_nothing(key: object) -> None:
    with pytest.raises(kitaru.KitaruUsageError, match="invalid memory key"):
        kitaru.memory.set(key, "v")  # type: ignore[arg-type]
    with pytest.raises(kitaru.KitaruUsageError):
        kitaru.memory.get(key)  # type: ignore[arg-type]
    assert KitaruClient().memories.scopes() == []


def test_invalid_scopes_and_scope_types_are_usage_errors() -> None:
    with pytest.raises(kitaru.KitaruUsageError, match="invalid memory scope"):
        kitaru.memory.set("k", 1, scope="a:b")
    with pytest.raises(kitaru.KitaruUsageError, match="invalid memory scope"):
        kitaru.memory.configure(scope="bad scope")
    with pytest.raises(kitaru.KitaruUsageError, match="scope_type"):
        kitaru.memory.configure(scope_type="global")
    assert KitaruClient().memories.scopes() == []


def test_the_compaction_prefix_is_reserved() -> None:
    for call in (lambda: kitaru.memory.set("_compaction/summary", "mine"),
                 lambda: kitaru.memory.delete("_compaction/summary"),
                 lambda: KitaruClient().memories.set("_compaction/x", 1)):
        with pytest.raises(kitaru.KitaruUsageError, match="reserved"):
            call()
    assert kitaru.memory.get("_compaction/summary") is None  # reading is fine
    assert KitaruClient().memories.scopes() == []


def test_configure_sets_the_default_scope_outside_a_flow() -> None:
    cfg = kitaru.memory.configure(scope="team/agents")
    assert cfg.scope == "team/agents" and kitaru.memory.current_config() == cfg
    entry = kitaru.memory.set("k", "v")
    assert (entry.scope, entry.scope_type) == ("team/agents", "namespace")
    assert kitaru.memory.get("k", scope="default") is None
    kitaru.memory.configure()  # None clears
    assert kitaru.memory.set("k", "w").scope == "default"
    kitaru.memory.configure(scope_type="flow")
    with pytest.raises(kitaru.KitaruContextError, match="inside a @flow"):
        kitaru.memory.get("k")
    kitaru.memory.configure(scope_type="execution")
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.memory.set("k", 1)


def test_memory_is_a_lazy_module_of_kitaru() -> None:
    import subprocess
    import sys

    code = ("import sys, kitaru; assert 'kitaru.memory' not in sys.modules, 'imported eagerly';"
            " from kitaru import memory; assert memory is kitaru.memory and callable(memory.set);"
            " assert 'memory' in kitaru.__all__; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_concurrent_writers_of_one_key_get_distinct_versions() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def write(worker: int) -> list[int]:
        return [kitaru.memory.set("shared", f"w{worker}-{i}").version for i in range(5)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        versions = [v for batch in pool.map(write, range(6)) for v in batch]
    assert sorted(versions) == list(range(1, 31))
    history = kitaru.memory.history("shared")
    assert [h.version for h in history] == list(range(30, 0, -1))
    assert kitaru.memory.get("shared") == history[0].value
