"""The UI's security: API-key login and logout, roles (members see no admin pages), CSRF, escaping,
the `kitaru ui` start token and its loopback-only Host check — each tried the way an attacker would."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from kitaru.client import KitaruClient
from tests.ui.support import ROOT, UIServer, shot


def keys(ui: UIServer) -> dict[str, str]:
    """An admin and a member, each with an API key, in the UI's store."""
    ident = ui.server.config.app.state.kitaru.identity
    out = {}
    for name, role in (("ana", "admin"), ("mo", "member")):
        p = ident.create_principal(name, kind="user", role=role)
        out[role] = ident.create_key(p["id"], "browser")[1]
    return out


def login(page: Any, ui: UIServer, api_key: str) -> None:
    page.goto(f"{ui.url}/login")
    page.fill("#api_key", api_key)
    page.click("#login-form button")


def test_api_key_login_roles_and_logout(page: Any, ui: UIServer, flows: Any, tmp_path: Path) -> None:
    k = keys(ui)
    handle = flows.approval_flow.run(topic="r")
    login(page, ui, "kit_wrong")
    assert "Unknown API key" in page.locator("#error").inner_text()
    login(page, ui, k["member"])
    page.wait_for_url(f"{ui.url}/")
    assert page.locator("#nav-admin").count() == 0  # a member sees no admin link …
    page.goto(f"{ui.url}/admin")
    assert "admin role" in page.locator("#error").inner_text()  # … and the page itself is refused
    page.goto(f"{ui.url}/executions/{handle.exec_id}")
    assert page.locator("form.wait-form").count() == 1 and page.locator("#cancel").count() == 1  # members may act
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(f"{ui.url}/")
    assert "/login" in page.url

    login(page, ui, k["admin"])
    page.goto(f"{ui.url}/admin")
    page.fill("#create-key input[name=principal]", "mo")
    page.fill("#create-key input[name=name]", "second")
    page.click("#create-key button")
    new_key = page.locator("#created-key pre").inner_text().strip()
    assert new_key.startswith("kit_") and new_key not in page.url
    shot(page, tmp_path, "admin")
    page.goto(f"{ui.url}/admin")
    assert new_key not in page.content()  # shown once
    page.locator("#keys tr", has_text="second").locator("button").click()
    page.wait_for_url(f"{ui.url}/admin")
    assert page.locator("#keys tr", has_text="second").count() == 0
    assert ui.server.config.app.state.kitaru.identity.authenticate(new_key) is None  # revoked


def test_csrf_less_and_cross_site_posts_are_refused(ui: UIServer, flows: Any) -> None:
    handle = flows.approval_flow.run(topic="c")
    with httpx.Client(base_url=ui.url, follow_redirects=False) as c:
        assert c.get("/ui/start", params={"token": "guess"}).status_code == 401
        assert c.post(f"/executions/{handle.exec_id}/cancel").status_code == 401  # no session
        assert c.get("/ui/start", params={"token": ui.token}).status_code == 303
        assert c.post(f"/executions/{handle.exec_id}/cancel").status_code == 403  # session, no CSRF token
        assert c.post(f"/executions/{handle.exec_id}/cancel", data={"csrf": "0" * 40}).status_code == 403
        page = c.get(f"/executions/{handle.exec_id}").text
        assert KitaruClient().executions.get(handle.exec_id).status.value == "waiting"  # nothing changed
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page).group(1)
        assert c.post(f"/executions/{handle.exec_id}/cancel", data={"csrf": token}).status_code == 303
        assert KitaruClient().executions.get(handle.exec_id).status.value == "cancelled"
        headers = c.get("/").headers
        assert "script-src 'self'" in headers["content-security-policy"] and "unsafe-inline" not in headers[
            "content-security-policy"]
        assert c.get("/", headers={"host": "attacker.example"}).status_code == 421  # DNS rebinding


def test_stored_strings_are_escaped(page: Any, ui: UIServer, flows: Any) -> None:
    payload = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
    handle = flows.research.run(topic=payload)  # in the checkpoint input, output and a log line
    handle.wait()
    page.goto(f"{ui.url}/ui/start?token={ui.token}")
    page.goto(f"{ui.url}/executions/{handle.exec_id}")
    page.click("details.cp[data-invocation='step'] summary")
    page.locator("#logs td.msg", has_text="running step").wait_for()
    assert payload in page.locator("#logs").inner_text()  # shown as text …
    assert page.title() != "pwned" and page.locator("#logs img, #timeline img").count() == 0  # … never run


def test_kitaru_ui_serves_on_loopback_with_a_start_token(kitaru_home: Path) -> None:
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "kitaru.cli", "ui", "--no-browser"], cwd=ROOT,
                            stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stderr.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/ui/start\?token=\S+)", line).group(1)
        with httpx.Client(follow_redirects=False) as c:
            first = c.get(url)
            elapsed = time.monotonic() - t0
            assert first.status_code == 303 and "kitaru_session" in first.headers["set-cookie"]
            assert c.get(url.split("?")[0] + "?token=wrong").status_code == 401
            base = url.split("/ui/start")[0]
            assert c.get(f"{base}/api/v1/executions").status_code == 404  # `kitaru ui` serves no REST API
        assert elapsed < 30, elapsed  # a bound for a loaded CI machine; the 1 s budget is bench/bench_ui.py's
    finally:
        proc.terminate()
        proc.wait(10)
