"""The web UI in a real browser (Debian's Chromium via Playwright) over real executions and runners."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any


from kitaru.client import KitaruClient
from tests.support import wait_for
from tests.ui.support import UIServer, shot, start_detached

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def login_local(page: Any, ui: UIServer) -> None:
    """`kitaru ui`'s start URL: the token becomes a session cookie and leaves the address bar."""
    page.goto(f"{ui.url}/ui/start?token={ui.token}")
    page.wait_for_url(f"{ui.url}/")
    cookie = next(c for c in page.context.cookies() if c["name"] == "kitaru_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_list_filters_and_detail_with_outputs_and_llm_costs(page: Any, ui: UIServer, flows: Any,
                                                             tmp_path: Path) -> None:
    done = flows.research.run(topic="durability")
    done.wait()
    waiting = flows.approval_flow.run(topic="t1")
    assert waiting.status == "waiting"
    page.goto(f"{ui.url}/")
    assert "/login" in page.url  # no session: the login page
    login_local(page, ui)
    rows = page.locator("#executions tr.row")
    assert rows.count() == 2
    assert page.locator(f"tr[data-id='{waiting.exec_id}'] .badge.wait").inner_text() == "needs input"
    page.select_option("#f-status", "completed")
    page.click("#f-apply")
    page.wait_for_url(re.compile(r"status=completed"))
    assert rows.count() == 1 and page.locator("td.flow").inner_text() == "research"
    page.fill("#f-q", waiting.exec_id[:8])
    page.select_option("#f-status", "")
    page.click("#f-apply")
    assert rows.count() == 1 and page.locator("td.flow").inner_text() == "approval_flow"
    page.goto(f"{ui.url}/")
    list_png = shot(page, tmp_path, "executions")

    page.click(f"a[href='/executions/{done.exec_id}']")
    page.wait_for_selector("#timeline")
    assert page.locator("details.cp").count() == 2
    page.click("details.cp[data-invocation='plan'] summary")
    page.click("details.cp[data-invocation='plan'] .cp-logs")  # this checkpoint's logs only
    page.locator("#logs td.msg", has_text="llm_calls").wait_for()
    assert page.locator("#logs td.msg", has_text="running step").count() == 0
    preview = page.locator("details.cp[data-invocation='plan'] pre.preview.json")
    preview.wait_for()
    assert '"steps": [' in preview.inner_text() and "<b>bold</b>" in preview.inner_text()  # shown as text
    total = page.locator("#llm-total").inner_text()
    assert "1200" in total and "345" in total and "0.001230" in total
    assert page.locator(".bar").first.evaluate("b => b.style.width").endswith("%")
    detail_png = shot(page, tmp_path, "execution")
    page.goto(f"{ui.url}/stacks")
    assert page.locator("#plugins").inner_text().count("local") >= 1
    default = page.locator("#stacks tr[data-stack='default']")
    assert "ready" in default.locator(".ready").inner_text() and "local" in default.inner_text()
    shot(page, tmp_path, "stacks")
    KitaruClient().memories.set("style", {"tone": "dry"}, scope="team/alpha")
    page.click("#nav-memory")
    page.click("#scopes a")
    assert "dry" in page.locator("#keys tr[data-key='style']").inner_text()
    page.click("#keys tr[data-key='style'] a")
    assert page.locator("#history tr[data-version='1']").count() == 1
    shot(page, tmp_path, "memory")
    assert not page.console_errors, page.console_errors
    if os.environ.get("KITARU_UI_SCREENSHOTS_TO_DOCS") == "1":  # refresh the README's screenshots on demand
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(list_png, DOCS_IMG / "ui-executions.png")
        shutil.copy(detail_png, DOCS_IMG / "ui-execution.png")


def test_answer_a_wait_through_the_generated_form(page: Any, ui: UIServer, flows: Any, tmp_path: Path) -> None:
    handle = flows.approval_flow.run(topic="t2")
    login_local(page, ui)
    page.goto(f"{ui.url}/executions/{handle.exec_id}")
    form = page.locator("form.wait-form")
    assert "Publish out-t2?" in page.locator(".question").inner_text()
    form.locator("button.answer").click()  # reviewer is required: the browser refuses first
    assert form.locator(".form-error").inner_text() == "reviewer: required"
    form.locator("label:has-text('approved') input[type=checkbox]").check()
    form.locator("label:has-text('reviewer') input").fill("ana")
    form.locator("label:has-text('score') input").fill("5")
    form.locator("fieldset.array button.add").click()
    form.locator("fieldset.array input[type=text]").fill("urgent")
    shot(page, tmp_path, "wait")
    form.locator("button.answer").click()
    page.wait_for_selector("#exec[data-status='completed']", timeout=40_000)  # the page follows the execution
    assert handle.wait(timeout=30) == "out-publish by ana (5, 1 tags)"


def test_wait_form_with_enum_nested_object_and_number(page: Any, ui: UIServer, flows: Any) -> None:
    handle = flows.ship.run()
    login_local(page, ui)
    page.goto(f"{ui.url}/executions/{handle.exec_id}")
    form = page.locator("form.wait-form")
    form.locator("label:has-text('speed') select").select_option(label="fast")
    nested = form.locator("fieldset fieldset")
    assert nested.locator("legend").inner_text().startswith("address")
    nested.locator("label:has-text('city') input").fill("Lyon")
    nested.locator("label:has-text('zip_code') input").fill("69.5")
    form.locator("label:has-text('weight') input").fill("2.5")
    form.locator("button.answer").click()
    assert form.locator(".form-error").inner_text() == "zip_code *: enter a whole number"  # checked in the browser
    nested.locator("label:has-text('zip_code') input").fill("69001")
    form.locator("button.answer").click()
    page.wait_for_selector("#exec[data-status='completed']", timeout=40_000)
    assert handle.wait(timeout=30) == "fast to Lyon 69001 (2.5 kg)"


def test_bad_answer_is_refused_by_the_server_and_changes_nothing(page: Any, ui: UIServer, flows: Any) -> None:
    handle = flows.approval_flow.run(topic="t3")
    login_local(page, ui)
    page.goto(f"{ui.url}/executions/{handle.exec_id}")
    form = page.locator("form.wait-form")
    form.locator("details.raw summary").click()
    form.locator("textarea.value-json").fill('{"approved": true}')  # valid JSON, missing "reviewer"
    form.locator("button.answer").click()
    assert "reviewer" in page.locator("#error").inner_text()
    assert len(KitaruClient().executions.pending_waits(handle.exec_id)) == 1


def test_replay_with_an_override_and_bad_overrides_change_nothing(page: Any, ui: UIServer, flows: Any) -> None:
    first = flows.research.run(topic="alpha")
    first.wait()
    login_local(page, ui)
    page.goto(f"{ui.url}/executions/{first.exec_id}")
    page.select_option("#replay-from", "step")
    page.fill("#overrides", "{not json")
    page.click("#replay")
    assert "not valid JSON" in page.locator("#replay-form .form-error").inner_text()  # refused in the browser
    page.fill("#overrides", '{"checkpoint.nope": 1}')
    page.click("#replay")
    page.wait_for_selector("#error")  # refused by the server
    assert len(KitaruClient().executions.list()) == 1  # nothing was created
    page.fill("#overrides", "")
    page.click(".add-override")  # a JSON editor for one checkpoint's output
    page.select_option(".override .override-name", "plan")
    page.fill(".override .override-value", '{"topic": "patched"')
    page.click("#replay")
    assert "Override of plan is not valid JSON" in page.locator("#replay-form .form-error").inner_text()
    page.fill(".override .override-value", '{"topic": "patched"}')
    page.click("#replay")
    page.wait_for_url(re.compile(r"/executions/(?!" + first.exec_id + ")"))
    new_id = page.url.rsplit("/executions/", 1)[1].split("?")[0]
    assert KitaruClient().executions.wait(new_id, timeout=40) == "out-patched"
    page.wait_for_selector("#exec[data-status='completed']", timeout=20_000)
    assert page.locator("#exec").get_attribute("data-status") == "completed"


def test_follow_logs_then_cancel_a_running_execution(page: Any, ui: UIServer, flows: Any, tmp_path: Path) -> None:
    proc = start_detached(flows, "ticker.run(n=80)")
    try:
        wait_for(lambda: KitaruClient().executions.list(status="running"), timeout=30)
        exec_id = KitaruClient().executions.list()[0].exec_id
        login_local(page, ui)
        page.goto(f"{ui.url}/executions/{exec_id}")
        assert page.locator("#log-follow").is_checked()
        page.wait_for_selector("#logs td.msg:text-is('tick 1')")
        seen = page.locator("#logs tr.log").count()
        page.wait_for_selector(f"#logs tr.log:nth-child({seen + 2})", timeout=20_000)  # new lines arrive by themselves
        page.select_option("#log-level", "ERROR")
        assert page.locator("#logs tr.log:visible").count() == 0
        page.select_option("#log-level", "")
        shot(page, tmp_path, "logs")
        page.click("#cancel")
        page.wait_for_selector("#exec[data-status='cancelled']", timeout=30_000)
        proc.wait(timeout=30)
        proc = start_detached(flows, "ticker.run(n=80)")  # a second one: the list refreshes it in place
        wait_for(lambda: KitaruClient().executions.list(status="running"), timeout=30)
        second = KitaruClient().executions.list(status="running")[0].exec_id
        page.goto(f"{ui.url}/")
        row = page.locator(f"tr[data-id='{second}']")
        assert row.get_attribute("data-status") == "running"
        page.evaluate("window.__same_page = true")  # would vanish on a reload
        KitaruClient().executions.cancel(second)
        page.wait_for_selector(f"tr[data-id='{second}'][data-status='cancelled']", timeout=30_000)
        assert page.evaluate("window.__same_page") is True and row.locator(".badge").inner_text() == "cancelled"
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert KitaruClient().executions.get(exec_id).status.value == "cancelled"
