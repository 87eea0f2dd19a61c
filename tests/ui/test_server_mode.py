"""The UI as `kitaru server up` serves it (over the server's own database): mounted at `/` beside the
API, a viewer sees no action buttons and is refused, and code-starting actions are not offered."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def key_for(app: Any, name: str, role: str) -> str:
    ident = app.state.kitaru.identity
    if role in ("admin", "member"):
        p = ident.create_principal(name, kind="user", role=role)
    else:  # a role the API may grow (read-only viewers): the UI must not offer it any action
        with ident.db.transaction() as tx:
            tx.execute("INSERT INTO principals (id, name, kind, role, created_at) VALUES (:i, :n, 'user', :r, 0)",
                       {"i": name + "-id", "n": name, "r": role})
        p = {"id": name + "-id"}
    return ident.create_key(p["id"], "k")[1]


def logged_in(app: Any, api_key: str) -> TestClient:
    c = TestClient(app, base_url="https://kitaru.example")
    form = c.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    r = c.post("/login", data={"api_key": api_key, "csrf": csrf, "next": "//evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never an open redirect
    assert "Secure" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    return c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', html).group(1)


def test_mounted_beside_the_api(server: Any) -> None:
    c = TestClient(server)
    assert c.get("/health").status_code == 200
    assert c.get("/api/v1/executions").status_code == 401  # the API keeps its bearer auth and JSON errors
    assert c.get("/api/v1/executions").json()["error"]["type"] == "Unauthorized"
    assert c.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert c.get("/ui-static/ui.js").status_code == 200


def test_member_sees_failure_escaped_and_no_code_starting_actions(server: Any) -> None:
    c = logged_in(server, key_for(server, "mo", "member"))
    page = c.get(f"/executions/{'e' * 32}").text
    assert "&lt;i&gt;boom&lt;/i&gt;" in page and "<i>boom</i>" not in page
    assert "Traceback: &lt;script&gt;" in page
    assert 'id="cancel"' in page and 'id="retry"' not in page and 'id="replay"' not in page
    r = c.post(f"/executions/{'e' * 32}/retry", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and "server" in r.headers["location"]  # explained, not run on the server
    assert c.get("/admin").status_code == 403


def test_viewer_has_no_action_buttons_and_is_refused(server: Any) -> None:
    c = logged_in(server, key_for(server, "vi", "viewer"))
    page = c.get(f"/executions/{'e' * 32}").text
    assert 'id="cancel"' not in page and 'id="actions"' not in page
    r = c.post(f"/executions/{'e' * 32}/cancel", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 403
    assert server.state.kitaru.state.get_execution("e" * 32)["status"] == "failed"


def test_continuations_of_a_local_stack_are_refused_with_the_reason(server: Any) -> None:
    from urllib.parse import unquote_plus

    key = key_for(server, "mx", "member")
    c = logged_in(server, key)
    csrf = csrf_of(c.get(f"/executions/{'e' * 32}").text)
    for action, data in (("retry", {}), ("resume", {}), ("replay", {"from": "anything"})):
        forged = c.post(f"/executions/{'e' * 32}/{action}", data={"csrf": "0" * 40, **data}, follow_redirects=False)
        assert forged.status_code == 403, action  # a cross-site form without this session's CSRF token
        r = c.post(f"/executions/{'e' * 32}/{action}", data={"csrf": csrf, **data}, follow_redirects=False)
        assert r.status_code == 303 and "local stack" in unquote_plus(r.headers["location"]), (action, r.headers)
    api = TestClient(server)
    token = api.post("/api/v1/auth/token", json={"api_key": key}).json()["access_token"]
    replayed = api.post(f"/api/v1/executions/{'e' * 32}/replay", json={"from": "x"},
                        headers={"Authorization": f"Bearer {token}"})
    assert replayed.status_code == 409 and "local stack" in replayed.json()["error"]["message"]
    assert api.post("/api/v1/executions/nope/replay", json={"from": "x"},
                    headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert len(server.state.kitaru.state.list_executions(limit=10)) == 1  # nothing was created


def test_viewer_cannot_retry_resume_or_replay(server: Any) -> None:
    key = key_for(server, "vx", "viewer")
    c = logged_in(server, key)
    csrf = csrf_of(c.get(f"/executions/{'e' * 32}").text)
    for action, data in (("retry", {}), ("resume", {}), ("replay", {"from": "x"})):
        assert c.post(f"/executions/{'e' * 32}/{action}", data={"csrf": csrf, **data},
                      follow_redirects=False).status_code == 403, action
    api = TestClient(server)
    token = api.post("/api/v1/auth/token", json={"api_key": key}).json()["access_token"]
    assert api.post(f"/api/v1/executions/{'e' * 32}/replay", json={"from": "x"},
                    headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert api.post(f"/api/v1/executions/{'e' * 32}/replay", json={"from": "x"}).status_code == 401
