"""`KitaruClient().memories`: purges with audit records, compaction with the (mock) LLM, reindex, and who may do what."""

from __future__ import annotations

import os
from typing import Any

import pytest

import kitaru
from kitaru.client import KitaruClient
from tests.support import http

API = "/api/v1"


def _versions(key: str, scope: str = "default") -> list[int]:
    return [h.version for h in kitaru.memory.history(key, scope=scope)]


def test_purge_hard_deletes_old_versions_and_writes_an_audit_record() -> None:
    mem = KitaruClient().memories
    for i in range(4):
        kitaru.memory.set("plan", f"v{i + 1}")
    rec = mem.purge("plan", keep=2)
    assert rec["action"] == "purge" and rec["key"] == "plan" and rec["scope"] == "default"
    assert rec["metadata"] == {"keep": 2, "removed": {"plan": [2, 1]}, "removed_count": 2}
    assert _versions("plan") == [4, 3] and kitaru.memory.get("plan") == "v4"
    assert kitaru.memory.get("plan", version=1) is None  # really gone, not hidden
    kitaru.memory.delete("plan")
    mem.purge("plan")  # a deleted key is purged entirely
    assert _versions("plan") == [] and mem.get("plan") is None
    log = mem.audit_log("default")
    assert [(r["action"], r["metadata"]["removed_count"]) for r in log] == [("purge", 3), ("purge", 2)]
    assert all(r["created_at"] > 0 for r in log)
    assert kitaru.memory.set("plan", "fresh").version == 1  # the key starts over


def test_purge_scope_purges_every_key_of_one_scope_only() -> None:
    mem = KitaruClient().memories
    for key in ("a", "b"):
        for i in range(3):
            kitaru.memory.set(key, i, scope="s1")
    kitaru.memory.set("a", "keep me", scope="s2")
    kitaru.memory.set("a", "and me", scope="s2")
    rec = mem.purge_scope("s1")
    assert rec["action"] == "purge_scope" and rec["key"] is None
    assert rec["metadata"] == {"keep": 1, "removed": {"a": [2, 1], "b": [2, 1]}, "removed_count": 4}
    assert _versions("a", "s1") == [3] and _versions("b", "s1") == [3] and _versions("a", "s2") == [2, 1]
    everything = mem.purge_scope("s1", keep=0)
    assert everything["metadata"]["removed_count"] == 2
    assert mem.list("s1") == [] and "s1" not in {s["scope"] for s in mem.scopes()}
    assert [r["action"] for r in mem.audit_log("s1")] == ["purge_scope", "purge_scope"]
    assert mem.audit_log("s2") == []
    with pytest.raises(kitaru.KitaruUsageError, match="keep"):
        mem.purge_scope("s2", keep=-1)


def test_compact_summarises_a_scope_into_the_reserved_summary_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "User prefers short formal answers.")
    monkeypatch.setenv("KITARU_DEFAULT_MODEL", "openai/gpt-4o-mini")
    mem = KitaruClient().memories
    kitaru.memory.set("tone", "formal", scope="chat")
    kitaru.memory.set("length", "short", scope="chat")
    kitaru.memory.set("length", "very short", scope="chat")
    rec = mem.compact("chat")
    assert rec["key"] == "_compaction/summary" and rec["version"] == 1 and rec["scope"] == "chat"
    assert rec["metadata"]["model"] == "openai/gpt-4o-mini"
    assert rec["metadata"]["sources"] == [{"key": "length", "version": 2}, {"key": "tone", "version": 1}]
    assert kitaru.memory.get("_compaction/summary", scope="chat") == "User prefers short formal answers."
    again = mem.compact("chat")  # the summary itself is not summarised again
    assert again["version"] == 2 and len(again["metadata"]["sources"]) == 2
    log = mem.compaction_log("chat")
    assert [(r["key"], r["version"]) for r in log] == [("_compaction/summary", 2), ("_compaction/summary", 1)]
    assert mem.compaction_log("elsewhere") == []


def test_compact_a_key_history_into_a_new_version_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LLM_MOCK_RESPONSE", "likes tea, then coffee")
    mem = KitaruClient().memories
    kitaru.memory.set("drinks", "tea")
    kitaru.memory.set("drinks", "coffee")
    rec = mem.compact(key="drinks", model="openai/gpt-4o-mini")
    assert rec["key"] == "drinks" and rec["version"] == 3
    assert rec["metadata"]["sources"] == [{"key": "drinks", "version": 1}, {"key": "drinks", "version": 2}]
    assert kitaru.memory.get("drinks") == "likes tea, then coffee"
    with pytest.raises(kitaru.KitaruUsageError, match="nothing to compact"):
        mem.compact("empty-scope")
    with pytest.raises(kitaru.KitaruUsageError, match="reserved"):
        mem.compact(key="_compaction/summary")


def test_reindex_rebuilds_the_latest_version_index(backend: str, kitaru_home: Any) -> None:
    kitaru.memory.set("x", 1)
    kitaru.memory.set("x", 2)
    kitaru.memory.set("y", "y", scope="other")
    kitaru.memory.delete("y", scope="other")
    if backend == "embedded":  # lose the index behind the store's back: reindex restores it from the versions
        import sqlite3

        with sqlite3.connect(kitaru_home / "kitaru.db") as db:
            db.execute("DELETE FROM memory_keys")
        assert kitaru.memory.get("x") is None
    assert KitaruClient().memories.reindex() == {"keys": 2, "scopes": 2}
    assert kitaru.memory.get("x") == 2 and kitaru.memory.get("y", scope="other") is None
    assert [e.key for e in kitaru.memory.list(scope="other", include_deleted=True)] == ["y"]


# ---------------------------------------------------------------------------------------------- authorization
def _server(backend: str) -> tuple[str, str]:
    if backend == "embedded":
        pytest.skip("roles apply to a server")
    return os.environ["KITARU_SERVER_URL"], os.environ["KITARU_API_KEY"]


def _token(url: str, api_key: str) -> str:
    return str(http.post(f"{url}{API}/auth/token", json={"api_key": api_key}).json()["access_token"])


def test_a_member_reads_and_writes_but_cannot_purge_or_reindex(backend: str) -> None:
    url, admin_key = _server(backend)
    admin = {"Authorization": f"Bearer {_token(url, admin_key)}"}
    assert http.post(f"{url}{API}/users", json={"name": "mia", "role": "member"}, headers=admin).status_code == 201
    member_key = http.post(f"{url}{API}/api-keys", json={"principal": "mia"}, headers=admin).json()["api_key"]
    kitaru.memory.set("k", "by admin")
    from kitaru.store._remote import RemoteStateService

    member = KitaruClient(RemoteStateService(url, api_key=member_key)).memories
    assert member.get("k").value == "by admin"
    written = member.set("k", "by member")
    assert written.version == 2 and written.actor == "mia"
    for forbidden in (lambda: member.purge("k"), lambda: member.purge_scope("default"), member.reindex):
        with pytest.raises(kitaru.KitaruBackendError, match="admin"):
            forbidden()
    assert [h.version for h in member.history("k")] == [2, 1] and member.audit_log() == []


def test_unauthenticated_callers_cannot_read_or_write_memory(backend: str) -> None:
    url, _ = _server(backend)
    kitaru.memory.set("secret-plan", "world domination")
    for method, path, body in (("GET", "/memory/scopes", None), ("GET", "/memory/entry?scope=default&key=secret-plan",
                                                                None),
                               ("GET", "/memory/history?scope=default&key=secret-plan", None),
                               ("PUT", "/memory/entry", {"scope": "default", "key": "k", "value": {}}),
                               ("POST", "/memory/purge", {"scope": "default"})):
        for headers in ({}, {"Authorization": "Bearer kt1.forged.token"}):
            r = http.request(method, f"{url}{API}{path}", json=body, headers=headers)
            assert r.status_code == 401, (path, r.text)
            assert "world domination" not in r.text


def test_a_viewer_token_is_read_only(backend: str) -> None:
    url, admin_key = _server(backend)
    admin = {"Authorization": f"Bearer {_token(url, admin_key)}"}
    http.post(f"{url}{API}/users", json={"name": "vic", "role": "viewer"}, headers=admin).raise_for_status()
    key = http.post(f"{url}{API}/api-keys", json={"name": "k", "principal": "vic"}, headers=admin).json()["api_key"]

    kitaru.memory.set("k", "v")
    h = {"Authorization": f"Bearer {_token(url, key)}"}
    assert http.get(f"{url}{API}/memory/entry", params={"scope": "default", "key": "k"}, headers=h).status_code == 200
    ref = kitaru.memory.entry("k").ref
    r = http.put(f"{url}{API}/memory/entry", json={"scope": "default", "key": "k", "value": ref}, headers=h)
    assert r.status_code == 403, r.text
    assert http.post(f"{url}{API}/memory/delete", json={"scope": "default", "key": "k"}, headers=h).status_code == 403
    assert [e.version for e in kitaru.memory.history("k")] == [1]


def test_the_server_validates_keys_and_refs_like_the_sdk(backend: str) -> None:
    url, admin_key = _server(backend)
    h = {"Authorization": f"Bearer {_token(url, admin_key)}"}
    ref = kitaru.memory.set("ok", 1).ref
    for body in ({"scope": "default", "key": "a:b", "value": ref}, {"scope": "x y", "key": "k", "value": ref},
                 {"scope": "default", "key": "_compaction/summary", "value": ref},
                 {"scope": "default", "key": "k", "value": {**ref, "sha256": "../../etc/passwd"}}):
        r = http.put(f"{url}{API}/memory/entry", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
    assert [e.key for e in kitaru.memory.list()] == ["ok"]


def test_a_runtime_token_writes_as_its_own_execution_and_cannot_purge(backend: str) -> None:
    url, admin_key = _server(backend)
    admin = {"Authorization": f"Bearer {_token(url, admin_key)}"}
    record = {"id": "execa", "flow_name": "f", "flow_source": {}, "stack": "default", "inputs": {}}
    r = http.post(f"{url}{API}/executions", json={"record": record, "owner": "o", "lease_ttl": 60}, headers=admin)
    assert r.status_code == 201, r.text
    runtime = http.post(f"{url}{API}/executions/execa/token", headers=admin).json()["access_token"]
    h = {"Authorization": f"Bearer {runtime}"}
    ref = kitaru.memory.set("k", "v").ref
    r = http.put(f"{url}{API}/memory/entry", headers=h,
                 json={"scope": "default", "key": "k", "value": ref, "exec_id": "someone-else"})
    assert r.status_code == 200, r.text
    assert r.json()["exec_id"] == "execa" and kitaru.memory.entry("k").exec_id == "execa"  # no spoofing
    assert http.post(f"{url}{API}/memory/purge", json={"scope": "default"}, headers=h).status_code == 403
    assert http.post(f"{url}{API}/memory/reindex", headers=h).status_code == 403
    assert [e.version for e in kitaru.memory.history("k")] == [2, 1]
