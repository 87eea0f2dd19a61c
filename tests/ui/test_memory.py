"""The memory pages: scopes, keys with value previews, a key's history with tombstones, a version's bytes;
every stored string escaped; any logged-in role reads (as the API allows), nobody writes through them, and
no session means no memory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from kitaru.client import KitaruClient
from tests.ui.test_server_mode import key_for, logged_in

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _local(home: Path) -> TestClient:
    from kitaru.ui._local import local_app

    c = TestClient(local_app(home, "tok"), base_url="http://127.0.0.1")
    assert c.get("/ui/start?token=tok", follow_redirects=False).status_code == 303
    return c


def test_scopes_keys_history_and_values(kitaru_home: Path) -> None:
    memories = KitaruClient().memories
    memories.set("style", {"tone": "<b>dry</b>", "words": 120}, scope="team/alpha")
    memories.set("style", {"tone": "warm", "words": 90}, scope="team/alpha")
    memories.set("logo", PNG, scope="team/alpha")
    memories.set("notes", "x" * 30_000, scope="team/alpha")
    memories.set("gone", "soon", scope="team/alpha")
    memories.delete("gone", scope="team/alpha")
    memories.set("other", 1, scope="solo")
    c = _local(kitaru_home)

    index = c.get("/memory").text
    assert "team/alpha" in index
    rows = re.findall(r'<tr><td><a href="(/memory\?scope=[^"]+)">', index)
    assert len(rows) == 2 and "live keys" in index.lower()

    scope = c.get("/memory", params={"scope": "team/alpha"}).text
    keys = re.findall(r'data-key="([^"]+)"', scope)
    assert keys == ["logo", "notes", "style"]  # live keys only, by key; the deleted one is in its history
    assert "&#34;tone&#34;: &#34;warm&#34;" in scope or "&quot;tone&quot;: &quot;warm&quot;" in scope
    assert "<b>dry</b>" not in scope and "Truncated" in scope
    img = re.search(r'<img class="preview-img" alt="memory value" src="([^"]+)"', scope).group(1)
    got = c.get(img.replace("&amp;", "&"))
    assert got.content == PNG and got.headers["content-type"] == "image/png"
    assert "sandbox" in got.headers["content-security-policy"]
    filtered = c.get("/memory", params={"scope": "team/alpha", "prefix": "st"}).text
    assert re.findall(r'data-key="([^"]+)"', filtered) == ["style"]

    history = c.get("/memory/history", params={"scope": "team/alpha", "key": "style"}).text
    assert re.findall(r'data-version="(\d+)"', history) == ["2", "1"]
    assert "&lt;b&gt;dry&lt;/b&gt;" in history and "<b>dry</b>" not in history
    gone = c.get("/memory/history", params={"scope": "team/alpha", "key": "gone"}).text
    assert re.findall(r'data-version="(\d+)"', gone) == ["2", "1"] and "deleted" in gone
    assert c.get("/memory/value", params={"scope": "team/alpha", "key": "gone", "version": 2}).status_code == 404
    old = c.get("/memory/value", params={"scope": "team/alpha", "key": "style", "version": 1})
    assert old.status_code == 200 and b"<b>dry</b>" in old.content
    assert old.headers["content-disposition"].startswith("attachment")  # never rendered as a page
    assert c.get("/memory/history", params={"scope": "solo", "key": "nope"}).status_code == 404
    assert c.get("/memory/value", params={"scope": "solo", "key": "other", "version": 0}).status_code == 422
    bad = c.get("/memory", params={"scope": "<img src=x onerror=alert(1)>"})
    assert bad.status_code in (400, 422) and "<img src=x" not in bad.text and "&lt;img src=x" in bad.text


def test_roles_read_only_and_no_session(server: Any, kitaru_home: Path) -> None:
    from kitaru.memory._models import store_value

    state = server.state.kitaru.state
    state.memory_set("shared", "plan", store_value("ship it"), scope_type="namespace")
    anonymous = TestClient(server, base_url="https://kitaru.example")
    r = anonymous.get("/memory", params={"scope": "shared"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert anonymous.get("/memory/value", params={"scope": "shared", "key": "plan", "version": 1},
                         follow_redirects=False).status_code == 303
    for role in ("viewer", "member"):
        c = logged_in(server, key_for(server, f"mem-{role}", role))
        page = c.get("/memory", params={"scope": "shared"}).text
        assert "ship it" in page and 'id="nav-memory"' in page
        assert "<form method=\"post\"" not in page.split("</header>")[1]  # nothing to change here
        assert c.post("/memory", data={"scope": "shared"}).status_code == 405
        assert c.post("/memory/value", params={"scope": "shared", "key": "plan", "version": 1}).status_code == 405
    assert [v["version"] for v in state.memory_history("shared", "plan")] == [1]  # nothing was written
