"""The HTTP transport: bounded retries, idempotent writes, token refresh, the same errors as the embedded store."""

from __future__ import annotations

import time
import uuid

import pytest

from kitaru.auth import Principal, peek_expiry, sign
from kitaru.errors import KitaruBackendError, KitaruStateError
from kitaru.store import CancelRequested, LeaseLost
from kitaru.store._remote import RemoteStateService
from kitaru.testing import free_port
from tests.server.support import ADMIN_KEY, SECRET_KEY, ServerProcess, admin_token
from tests.support import http


def _new(state: RemoteStateService, owner: str = "o") -> str:
    exec_id = uuid.uuid4().hex
    state.create_execution({"id": exec_id, "flow_name": "f", "flow_source": {}, "inputs": {}}, owner=owner,
                           lease_ttl=60)
    return exec_id


def test_unreachable_server_fails_within_the_retry_budget() -> None:
    state = RemoteStateService(f"http://127.0.0.1:{free_port()}", token="t", retry_seconds=0.6)
    started = time.monotonic()
    with pytest.raises(KitaruBackendError, match="unreachable"):
        state.get_execution("x")
    assert time.monotonic() - started < 3


def test_errors_map_back_to_the_service_exceptions(sqlite_server: ServerProcess) -> None:
    state = RemoteStateService(sqlite_server.url, api_key=ADMIN_KEY)
    exec_id = _new(state)
    with pytest.raises(LeaseLost):
        state.check_boundary(exec_id, owner="someone-else")
    state.request_cancel(exec_id)
    with pytest.raises(CancelRequested):
        state.check_boundary(exec_id, owner="o")
    with pytest.raises(KitaruStateError, match="already running"):
        state.claim_execution(exec_id, owner="p", lease_ttl=5)
    assert state.get_execution("nope") is None and state.get_wait(exec_id, "w") is None
    with pytest.raises(KitaruStateError):  # a duplicate create that was not a retry is an error
        state.create_execution({"id": exec_id, "flow_name": "f", "flow_source": {}, "inputs": {}}, owner="o",
                               lease_ttl=5)


def test_log_batches_with_the_same_idempotency_key_are_stored_once(sqlite_server: ServerProcess) -> None:
    state = RemoteStateService(sqlite_server.url, api_key=ADMIN_KEY)
    exec_id = _new(state)
    headers = {"Authorization": f"Bearer {admin_token(sqlite_server)}", "Idempotency-Key": "batch-1"}
    body = {"entries": [{"ts": 1.0, "stream": "stdout", "level": "INFO", "message": "hello"}]}
    for _ in range(3):
        r = http.post(f"{sqlite_server.url}/api/v1/executions/{exec_id}/logs", json=body, headers=headers)
        assert r.status_code == 204
    assert [e["message"] for e in state.query_logs(exec_id)] == ["hello"]


def test_following_logs_long_polls_until_a_line_arrives_or_the_execution_stops(sqlite_server: ServerProcess) -> None:
    import threading

    from kitaru.client import KitaruClient

    state = RemoteStateService(sqlite_server.url, api_key=ADMIN_KEY)
    exec_id = _new(state)
    line = {"exec_id": exec_id, "invocation_id": None, "ts": 1.0, "stream": "stdout", "level": "INFO"}
    threading.Timer(0.6, state.append_logs, [[{**line, "message": "late"}]]).start()
    started = time.monotonic()
    assert [e["message"] for e in state.query_logs(exec_id, wait=10)] == ["late"]  # one request, held open
    assert 0.5 <= time.monotonic() - started < 5
    started = time.monotonic()
    assert state.query_logs(exec_id, after_id=10**9, wait=0.3) == [] and time.monotonic() - started >= 0.3

    client = KitaruClient(state=state)
    threading.Timer(0.4, state.append_logs, [[{**line, "message": "more"}]]).start()
    threading.Timer(0.8, state.finish_execution, [exec_id], {"owner": "o", "status": "completed"}).start()
    started = time.monotonic()
    assert [e.message for e in client.executions.follow_logs(exec_id, timeout=20)] == ["late", "more"]
    assert time.monotonic() - started < 5  # it returns as soon as the execution stops running
    started = time.monotonic()
    assert state.query_logs(exec_id, after_id=10**9, wait=20) == []  # not running: no point in waiting
    assert time.monotonic() - started < 2


def test_runtime_tokens_refresh_before_they_expire(sqlite_server: ServerProcess) -> None:
    admin = RemoteStateService(sqlite_server.url, api_key=ADMIN_KEY)
    exec_id = _new(admin)
    owner = admin.get_execution(exec_id)["owner_id"]  # a runtime token acts as the execution's owner
    short = sign(Principal(sub=owner, name="runtime", role="runtime", exp=time.time() + 300, exec=exec_id,
                           stack="default"), SECRET_KEY.encode())
    runtime = RemoteStateService(sqlite_server.url, token=short)
    assert runtime.get_execution(exec_id)["id"] == exec_id
    assert peek_expiry(runtime.http.token() or "") > time.time() + 3000  # type: ignore[operator]
    with pytest.raises(KitaruBackendError, match="not allowed"):
        runtime.list_executions()


def test_execution_listing_pages_with_a_keyset_cursor(sqlite_server: ServerProcess) -> None:
    state = RemoteStateService(sqlite_server.url, api_key=ADMIN_KEY)
    ids = {_new(state) for _ in range(5)}
    token = admin_token(sqlite_server)
    first = http.get(f"{sqlite_server.url}/api/v1/executions", params={"limit": 3},
                     headers={"Authorization": f"Bearer {token}"}).json()
    rest = http.get(f"{sqlite_server.url}/api/v1/executions", params={"limit": 100, **first["next"]},
                    headers={"Authorization": f"Bearer {token}"}).json()
    seen = [r["id"] for r in first["items"] + rest["items"]]
    assert len(seen) == len(set(seen)) and ids <= set(seen)


def test_connect_switches_this_process_to_the_server(sqlite_server: ServerProcess, flow_file,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import kitaru.store
    from kitaru.client import KitaruClient

    monkeypatch.delenv("KITARU_SERVER_URL", raising=False)
    with pytest.raises(KitaruBackendError):
        kitaru.store.connect(sqlite_server.url, api_key="kit_not-a-real-key")
    state = kitaru.store.connect(sqlite_server.url, api_key=ADMIN_KEY)
    try:
        assert kitaru.store.current_state() is state
        exec_id = _new(state)
        assert KitaruClient().executions.get(exec_id).exec_id == exec_id
    finally:
        kitaru.store.disconnect()
    assert type(kitaru.store.current_state()).__name__ == "StateService"
