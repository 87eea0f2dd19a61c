"""Attacks on the journal and on input handling, over real HTTP with real tokens, on a server on SQLite
and on PostgreSQL: late reports from a runner that lost its lease, rewriting completed records, claiming
finished executions, oversized bodies, bad names, and database text in error bodies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.support import ServerProcess, admin_token, start_server

API = "/api/v1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv, cleanup = start_server(request.param, tmp_path_factory.mktemp(f"fence-{request.param}"))
    yield srv
    cleanup()  # type: ignore[operator]


class Api:
    """A client holding an admin token and, per execution, the runtime token a runner would get."""

    def __init__(self, server: ServerProcess) -> None:
        self.http = httpx.Client(base_url=server.url + API, timeout=30)
        self.admin = {"Authorization": f"Bearer {admin_token(server)}"}

    def execution(self, owner: str = "runner-1", ttl: float = 60) -> tuple[str, dict[str, str]]:
        exec_id = uuid.uuid4().hex
        record = {"id": exec_id, "flow_name": "f", "flow_source": {}, "inputs": {}}
        r = self.http.post("/executions", json={"record": record, "owner": owner, "lease_ttl": ttl}, headers=self.admin)
        assert r.status_code == 201, r.text
        token = self.http.post(f"/executions/{exec_id}/token", headers=self.admin).json()["access_token"]
        return exec_id, {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Api:
    return Api(server)


def _call(inv: str = "step") -> dict[str, Any]:
    return {"invocation_id": inv, "seq": 0, "name": "step", "input_hash": "a" * 64}


def _journal(api: Api, exec_id: str) -> list[tuple[Any, ...]]:
    rows = api.http.get(f"/executions/{exec_id}/calls", headers=api.admin).json()
    return [(r["invocation_id"], r["status"], r["attempts"], r["output"]) for r in rows]


def _take_over(api: Api, exec_id: str, runtime: dict[str, str], old: str, new: str) -> None:
    """The old runner's turn ends (failed), and a new runner claims the execution."""
    r = api.http.post(f"/executions/{exec_id}/finish", json={"owner": old, "status": "failed",
                                                             "failure": {"origin": "runtime"}}, headers=runtime)
    assert r.status_code == 204, r.text
    r = api.http.post(f"/executions/{exec_id}/claim", json={"owner": new, "lease_ttl": 60,
                                                            "statuses": ["failed"]}, headers=runtime)
    assert r.status_code == 200, r.text


def test_late_reports_from_a_runner_that_lost_its_lease_are_refused(api: Api) -> None:
    exec_id, runtime = api.execution(owner="runner-1")
    _take_over(api, exec_id, runtime, "runner-1", "runner-2")
    late_fail = {"call": _call(), "attempt": 1, "owner": "runner-1", "error": {"message": "late"}, "final": True}
    late_done = {"call": _call(), "attempt": 1, "owner": "runner-1", "output": {"sha256": "stale"}}
    for path, body in (("fail", late_fail), ("complete", late_done)):
        r = api.http.post(f"/executions/{exec_id}/calls/{path}", json=body, headers=runtime)  # complete: fast lane
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert error["type"] == "LeaseLost" and "no longer holds the execution's lease" in error["message"]
    r = api.http.post(f"/executions/{exec_id}/finish", json={"owner": "runner-1", "status": "completed",
                                                             "result": {"sha256": "stale"}}, headers=runtime)
    assert r.status_code == 409 and r.json()["error"]["type"] == "LeaseLost"
    assert _journal(api, exec_id) == []
    assert api.http.get(f"/executions/{exec_id}", headers=api.admin).json()["lease_owner"] == "runner-2"


def test_a_fail_report_without_an_owner_is_refused(api: Api) -> None:
    exec_id, runtime = api.execution()
    r = api.http.post(f"/executions/{exec_id}/calls/fail", json={"call": _call(), "attempt": 1,
                                                                 "error": {}, "final": True}, headers=runtime)
    assert r.status_code == 422 and _journal(api, exec_id) == []


def test_a_completed_checkpoint_cannot_become_failed_or_running(api: Api) -> None:
    exec_id, runtime = api.execution(owner="runner-1")
    done = {"call": _call(), "attempt": 1, "owner": "runner-1", "output": {"sha256": "good"}}
    assert api.http.post(f"/executions/{exec_id}/calls/complete", json=done, headers=runtime).status_code == 204
    fail = {"call": _call(), "attempt": 2, "owner": "runner-1", "error": {"message": "forged"}, "final": True}
    r = api.http.post(f"/executions/{exec_id}/calls/fail", json=fail, headers=runtime)
    assert r.status_code == 409 and r.json()["error"]["type"] == "KitaruStateError", r.text
    assert "already completed" in r.json()["error"]["message"]
    r = api.http.post(f"/executions/{exec_id}/calls/start", json={"call": _call(), "owner": "runner-1",
                                                                  "attempt": 3}, headers=runtime)
    assert r.status_code == 200
    forged = {**done, "attempt": 4, "output": {"sha256": "forged"}}
    assert api.http.post(f"/executions/{exec_id}/calls/complete", json=forged, headers=runtime).status_code == 204
    assert _journal(api, exec_id) == [("step", "completed", 1, {"sha256": "good"})]
    attempts = api.http.get(f"/executions/{exec_id}/attempts", headers=api.admin).json()
    assert [a["status"] for a in attempts] == ["completed"]


@pytest.mark.parametrize("final", ["completed", "cancelled"])
def test_a_finished_execution_cannot_be_claimed_again(api: Api, final: str) -> None:
    exec_id, runtime = api.execution(owner="runner-1")
    r = api.http.post(f"/executions/{exec_id}/finish", json={"owner": "runner-1", "status": final}, headers=runtime)
    assert r.status_code == 204
    for statuses in (["waiting", "failed"], ["completed", "cancelled", "running"]):
        r = api.http.post(f"/executions/{exec_id}/claim", json={"owner": "thief", "lease_ttl": 60,
                                                                "statuses": statuses}, headers=runtime)
        assert r.status_code == 409 and "cannot run again" in r.json()["error"]["message"], r.text
    row = api.http.get(f"/executions/{exec_id}", headers=api.admin).json()
    assert (row["status"], row["lease_owner"], row["runs"]) == (final, None, 1)


# ------------------------------------------------------------------------------------------ input limits
@pytest.mark.parametrize(("method", "path", "size"), [
    ("POST", "/auth/token", 65 * 1024),
    ("PATCH", "/executions/{id}/metadata", 1024 * 1024 + 1),
    ("POST", "/executions/{id}/calls/complete", 1024 * 1024 + 1),
    ("POST", "/executions/{id}/logs", 8 * 1024 * 1024 + 1),
])
def test_oversized_bodies_get_413_and_nothing_is_stored(api: Api, method: str, path: str, size: int) -> None:
    exec_id, runtime = api.execution()
    url = path.format(id=exec_id)
    payload = b'{"metadata": {"x": "' + b"x" * size + b'"}}'
    headers = {**runtime, "Content-Type": "application/json"}
    r = api.http.request(method, url, content=payload, headers=headers)
    assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLarge", r.text[:300]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(payload), 64 * 1024):
            yield payload[i:i + 64 * 1024]

    r = api.http.request(method, url, content=chunks(), headers=headers)
    assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLarge", r.text[:300]
    row = api.http.get(f"/executions/{exec_id}", headers=api.admin).json()
    assert row["metadata"] == {} and _journal(api, exec_id) == []
    assert api.http.get(f"/executions/{exec_id}/logs", headers=api.admin).json() == []


def test_a_log_batch_under_its_limit_is_stored_with_long_lines_bounded(api: Api) -> None:
    from kitaru.store._guards import LOG_LINE_MAX

    exec_id, runtime = api.execution()
    line = {"ts": 1.0, "stream": "stdout", "level": "INFO", "message": "a\x00" + "y" * (2 * LOG_LINE_MAX)}
    r = api.http.post(f"/executions/{exec_id}/logs", json={"entries": [line]}, headers=runtime)
    assert r.status_code == 204, r.text
    [stored] = api.http.get(f"/executions/{exec_id}/logs", headers=api.admin).json()
    assert stored["message"].startswith("a\ufffd") and len(stored["message"]) == LOG_LINE_MAX


BAD_NAMES = ["a b", "tab\tx", "esc\x1b[31m", "nul\x00x", "x" * 256, "dots/../x", "new\nline", "bell\x07"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_bad_names_get_the_same_422_everywhere_and_nothing_is_stored(api: Api, bad: str) -> None:
    exec_id, runtime = api.execution(owner="runner-1")
    r = api.http.post(f"/executions/{exec_id}/calls/start", json={"call": _call(bad), "owner": "runner-1"},
                      headers=runtime)
    assert r.status_code == 422 and r.json()["error"]["type"] in ("KitaruUsageError", "ValidationError"), r.text
    r = api.http.post(f"/executions/{exec_id}/waits", json={"invocation_id": bad, "name": bad}, headers=runtime)
    assert r.status_code == 422, r.text
    record = {"id": uuid.uuid4().hex, "flow_name": bad, "flow_source": {}, "inputs": {}}
    r = api.http.post("/executions", json={"record": record, "owner": "o", "lease_ttl": 5}, headers=api.admin)
    assert r.status_code == 422, r.text
    r = api.http.put("/secrets/ok", json={"data": {bad: "v"}}, headers=api.admin)
    assert r.status_code == 422, r.text
    assert _journal(api, exec_id) == [] and api.http.get("/secrets", headers=api.admin).json() == []
    assert api.http.get(f"/executions/{exec_id}/waits/{exec_id}", headers=api.admin).status_code in (404, 422)


def test_error_bodies_never_echo_database_text(api: Api) -> None:
    exec_id, _ = api.execution()
    record = {"id": exec_id, "flow_name": "f", "flow_source": {}, "inputs": {}}
    r = api.http.post("/executions", json={"record": record, "owner": "o", "lease_ttl": 5}, headers=api.admin)
    assert r.status_code == 409 and r.json()["error"] == {"type": "Duplicate",
                                                          "message": "a record with this key already exists"}
    for word in ("UNIQUE", "constraint", "executions.id", "duplicate key", "psycopg", "sqlite", "DETAIL"):
        assert word.lower() not in r.text.lower()
