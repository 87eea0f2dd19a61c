"""`/executions/{id}/jobs`: only the execution's own runtime, holding its lease, may have the server dispatch,
follow or stop its isolated checkpoint jobs; handles cannot be forged or reused across executions."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.server.support import ServerProcess, admin_token
from tests.support import http

JOB = {"inv": "part", "name": "part", "target": {"module": "m", "qualname": "part"},
       "inputs": {"sha256": "0" * 64}, "result": ""}


@pytest.fixture
def two(sqlite_server: ServerProcess, flow_module, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """Two waiting executions of the local stack on a live server."""
    monkeypatch.setenv("KITARU_SERVER_URL", sqlite_server.url)
    monkeypatch.setenv("KITARU_API_KEY", sqlite_server.admin_key)
    mod = flow_module('''
import kitaru
@kitaru.flow
def asks() -> str:
    return str(kitaru.wait(name="ok", schema=str))
''', "jobs_route_flow")
    yield mod.asks.run().exec_id, mod.asks.run().exec_id


def _post(server: ServerProcess, exec_id: str, token: str, **job: object) -> httpx.Response:
    body = {**JOB, "result": f"executions/{exec_id}/isolated/part/1-x.json", "owner": "o", **job}
    return http.post(f"{server.url}/api/v1/executions/{exec_id}/jobs", json=body,
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _runtime(server: ServerProcess, exec_id: str) -> str:
    resp = http.post(f"{server.url}/api/v1/executions/{exec_id}/token",
                     headers={"Authorization": f"Bearer {admin_token(server)}"}, timeout=10)
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def test_only_the_executions_own_runtime_holding_the_lease_may_submit(sqlite_server: ServerProcess, two) -> None:
    mine, other = two
    assert _post(sqlite_server, mine, admin_token(sqlite_server)).status_code == 403  # a user, even an admin
    assert _post(sqlite_server, mine, _runtime(sqlite_server, other)).status_code == 403  # another execution's runtime
    token = _runtime(sqlite_server, mine)
    escape = _post(sqlite_server, mine, token, result=f"executions/{other}/isolated/part/1.json")
    assert escape.status_code == 422  # it reports only inside its own execution's area
    assert _post(sqlite_server, mine, token).status_code == 409  # not the lease holder (the execution waits)


def test_status_and_cancel_need_a_handle_the_server_issued_for_that_execution(
        sqlite_server: ServerProcess, two) -> None:
    mine, _ = two
    token = _runtime(sqlite_server, mine)
    for method in ("GET", "DELETE"):
        resp = http.request(method, f"{sqlite_server.url}/api/v1/executions/{mine}/jobs",
                            params={"handle": "kitaru/kitaru-x-0123abcd|" + "0" * 32},
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.status_code == 403, resp.text
