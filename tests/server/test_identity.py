"""The identity model, attacked over real HTTP with real tokens on a server on SQLite and on PostgreSQL.

Who acts with whose rights (execution owners, runtime tokens, secrets through model aliases), revocation,
encryption at rest, the token exchange's rate limit, and the runtime token's absolute lifetime.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kitaru.auth import Principal, sign
from kitaru.testing import LocalServer
from tests.server.support import ADMIN_KEY, pg_database
from tests.support import http

API = "/api/v1"


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Team:
    """A live server (signing key in its database, as in production) and helpers to act on it."""

    def __init__(self, server: LocalServer) -> None:
        self.server, self.url = server, f"{server.url}{API}"
        self.admin = server.token()

    def call(self, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        return http.request(method, f"{self.url}{path}", json=body, headers=_h(token), timeout=30)

    def user(self, role: str = "member") -> tuple[dict[str, Any], str, str]:
        """A new user: (principal, api key, token)."""
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        found = self.call("POST", "/users", self.admin, {"name": name, "role": role})
        assert found.status_code == 201, found.text
        key = self.call("POST", "/api-keys", self.admin, {"principal": name}).json()["api_key"]
        return found.json(), key, self.exchange(key)

    def exchange(self, key: str) -> str:
        r = http.post(f"{self.url}/auth/token", json={"api_key": key}, timeout=30)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def execution(self, token: str, *, stack: str = "default", **record: Any) -> str:
        exec_id = uuid.uuid4().hex
        body = {"record": {"id": exec_id, "flow_name": "f", "flow_source": {}, "stack": stack, "inputs": {}, **record},
                "owner": "o", "lease_ttl": 600}
        r = self.call("POST", "/executions", token, body)
        assert r.status_code == 201, r.text
        return exec_id

    def runtime(self, exec_id: str, token: str) -> str:
        r = self.call("POST", f"/executions/{exec_id}/token", token)
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def _start(kind: str, tmp: Path, env: dict[str, str] | None = None) -> tuple[LocalServer, Any]:
    drop = None
    if kind == "postgresql":
        url, drop = pg_database()
    else:
        url = f"sqlite:///{tmp / 'server.db'}"
    server = LocalServer(url, tmp / "home", admin_key=ADMIN_KEY,
                         env={"KITARU_SERVER_REVOCATION_CHECK": "1", **(env or {})})
    server.start()

    def cleanup() -> None:
        server.stop()
        if drop is not None:
            drop()  # type: ignore[operator]

    return server, cleanup


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def team(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    server, cleanup = _start(request.param, tmp_path_factory.mktemp(f"ident-{request.param}"))
    yield Team(server)
    cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Start a server with extra settings on either backend: `fresh(env)` -> Team."""
    cleanups: list[Any] = []

    def start(env: dict[str, str]) -> Team:
        server, cleanup = _start(request.param, tmp_path / uuid.uuid4().hex[:6], env)
        cleanups.append(cleanup)
        return Team(server)

    yield start
    for cleanup in cleanups:
        cleanup()


# ------------------------------------------------------------------ who acts, with whose rights
def test_a_member_cannot_reach_a_secret_by_pointing_a_model_alias_at_it(team: Team) -> None:
    secret = f"prod-db-{uuid.uuid4().hex[:6]}"
    assert team.call("PUT", f"/secrets/{secret}", team.admin, {"data": {"PASSWORD": "canary-1"}}).status_code == 204
    _, _, mia = team.user()
    steal = team.call("PUT", f"/models/steal-{secret}", mia, {"model": "openai/gpt-4o", "secret": secret})
    assert steal.status_code == 403 and "grant" in steal.json()["error"]["message"]
    runtime = team.runtime(team.execution(mia), mia)
    denied = team.call("GET", f"/secrets/{secret}/value", runtime)
    assert denied.status_code == 403 and "canary-1" not in denied.text

    # an explicit grant lets gina name it in an alias; her flows read it, mia's still do not
    gina, _, gina_token = team.user()
    assert team.call("PUT", f"/secrets/{secret}/grants/{gina['name']}", team.admin).status_code == 204
    assert [g["name"] for g in team.call("GET", f"/secrets/{secret}/grants", team.admin).json()] == [gina["name"]]
    assert team.call("PUT", f"/models/gina-{secret}", gina_token,
                     {"model": "openai/gpt-4o", "secret": secret}).status_code == 204
    gina_runtime = team.runtime(team.execution(gina_token), gina_token)
    assert team.call("GET", f"/secrets/{secret}/value", gina_runtime).json() == {"PASSWORD": "canary-1"}
    again = team.call("GET", f"/secrets/{secret}/value", runtime)
    assert again.status_code == 403 and "canary-1" not in again.text
    # withdrawing the grant withdraws it from her runtimes too
    assert team.call("DELETE", f"/secrets/{secret}/grants/{gina['name']}", team.admin).status_code == 204
    assert team.call("GET", f"/secrets/{secret}/value", gina_runtime).status_code == 403


def test_every_runtime_token_acts_as_the_executions_owner(team: Team) -> None:
    secret = f"admin-only-{uuid.uuid4().hex[:6]}"
    team.call("PUT", f"/secrets/{secret}", team.admin, {"data": {"K": "canary-2"}}).raise_for_status()
    granted, _, granted_token = team.user()
    team.call("PUT", f"/secrets/{secret}/grants/{granted['name']}", team.admin).raise_for_status()
    team.call("PUT", f"/models/m-{secret}", granted_token, {"model": "openai/x", "secret": secret}).raise_for_status()
    mia, _, mia_token = team.user()
    exec_id = team.execution(mia_token, owner_id="forged", owner_name="admin")  # the server decides who owns it
    row = team.call("GET", f"/executions/{exec_id}", mia_token).json()
    assert (row["owner_id"], row["owner_name"]) == (mia["id"], mia["name"])

    by_admin = team.runtime(exec_id, team.admin)  # e.g. an admin continuing mia's waiting execution
    me = team.call("GET", "/auth/me", by_admin).json()
    assert me["id"] == mia["id"] and me["execution"] == exec_id
    denied = team.call("GET", f"/secrets/{secret}/value", by_admin)  # admin rights never leak into mia's code
    assert denied.status_code == 403 and "canary-2" not in denied.text
    admins_own = team.runtime(team.execution(team.admin), team.admin)
    assert team.call("GET", f"/secrets/{secret}/value", admins_own).json() == {"K": "canary-2"}

    # a replay is a new execution owned by whoever replays
    replay = team.execution(granted_token, original_exec_id=exec_id, replay_from="step")
    assert team.call("GET", f"/executions/{replay}", granted_token).json()["owner_id"] == granted["id"]


def test_only_the_owner_or_an_admin_mints_runtime_tokens_and_only_the_owner_continues(team: Team) -> None:
    _, _, mia = team.user()
    _, _, gina = team.user()
    _, _, vic = team.user("viewer")
    exec_id = team.execution(mia)
    for other, why in ((gina, "owner"), (vic, "read-only")):
        r = team.call("POST", f"/executions/{exec_id}/token", other)
        assert r.status_code == 403 and why in r.json()["error"]["message"]
    team.runtime(exec_id, team.admin)
    runtime = team.runtime(exec_id, mia)
    finished = team.call("POST", f"/executions/{exec_id}/finish", runtime, {"owner": "o", "status": "waiting"})
    assert finished.status_code == 204
    for other in (team.admin, gina):  # whoever claims runs the flow's code on their machine
        r = team.call("POST", f"/executions/{exec_id}/claim", other, {"owner": "x", "lease_ttl": 60})
        assert r.status_code == 403 and "owner" in r.json()["error"]["message"], r.text
    assert team.call("GET", f"/executions/{exec_id}", mia).json()["status"] == "waiting"
    claimed = team.call("POST", f"/executions/{exec_id}/claim", mia, {"owner": "mine", "lease_ttl": 60})
    assert claimed.status_code == 200 and claimed.json()["lease_owner"] == "mine"


def test_nobody_but_the_owner_and_its_runtime_writes_an_executions_journal(team: Team) -> None:
    """Knowing the lease (the runner's fencing token) must not let another user forge checkpoint results."""
    _, _, mia = team.user()
    _, _, gina = team.user()
    exec_id = team.execution(mia)  # mia's runner holds the lease "o"
    seen = team.call("GET", f"/executions/{exec_id}", gina).json()
    assert seen["id"] == exec_id and seen["lease_owner"] is None  # others do not even learn the lease
    assert team.call("GET", f"/executions/{exec_id}", mia).json()["lease_owner"] == "o"
    assert all(row["lease_owner"] is None for row in team.call("GET", "/executions?limit=200", gina).json()["items"]
               if row["id"] == exec_id)
    call = {"invocation_id": "step", "seq": 1, "name": "step", "type": "checkpoint"}
    forged_output = {"hash": "0" * 64, "size": 1, "serializer": "json"}
    forgeries = [
        ("POST", "/calls/start", {"call": call, "owner": "o"}),
        ("POST", "/calls/complete", {"call": call, "attempt": 1, "owner": "o", "output": forged_output}),
        ("POST", "/calls/fail", {"call": call, "attempt": 1, "owner": "o", "error": {"type": "x"}, "final": True}),
        ("POST", "/calls/reuse", {"call": {**call, "output": forged_output, "reused_from": exec_id}, "owner": "o"}),
        ("PUT", "/lease", {"owner": "o", "lease_ttl": 60}),
        ("POST", "/boundary", {"owner": "o"}),
        ("POST", "/finish", {"owner": "o", "status": "completed", "result": forged_output}),
        ("POST", "/waits", {"invocation_id": "w", "name": "w", "schema": {}, "question": "?"}),
        ("PUT", "/dispatch", {"orchestrator": "local", "job_id": "forged"}),
        ("POST", "/logs", {"entries": [{"message": "forged", "level": "INFO", "ts": 1.0, "stream": "stdout"}]}),
        ("PUT", "/artifacts", {"name": "report", "type": "data", "ref": forged_output}),
    ]
    gina_runtime = team.runtime(team.execution(gina), gina)  # a runtime token of another execution
    for method, path, body in forgeries:
        for intruder in (gina, gina_runtime):
            r = team.call(method, f"/executions/{exec_id}{path}", intruder, body)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
    assert team.call("GET", f"/executions/{exec_id}/calls", mia).json() == []
    row = team.call("GET", f"/executions/{exec_id}", mia).json()
    assert (row["status"], row["lease_owner"], row.get("metadata") or {}) == ("running", "o", row.get("metadata") or {})
    assert row.get("job_id") != "forged"
    # the owner (her in-process first turn) and her execution's runtime token write as before
    assert team.call("POST", f"/executions/{exec_id}/calls/start", mia, {"call": call, "owner": "o"}).status_code == 200
    runtime = team.runtime(exec_id, mia)
    done = team.call("POST", f"/executions/{exec_id}/calls/complete", runtime,
                     {"call": call, "attempt": 1, "owner": "o", "output": forged_output})
    assert done.status_code == 204, done.text
    assert [c["status"] for c in team.call("GET", f"/executions/{exec_id}/calls", mia).json()] == ["completed"]


def test_the_output_cache_never_crosses_owners(team: Team) -> None:
    _, _, mia = team.user()
    _, _, gina = team.user()
    key = uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex characters, as the runtime sends
    exec_id = team.execution(mia)
    call = {"invocation_id": "step", "seq": 1, "name": "step", "type": "checkpoint", "cache_key": key}
    output = {"hash": "1" * 64, "size": 1, "serializer": "json"}
    r = team.call("POST", f"/executions/{exec_id}/calls/complete", mia,
                  {"call": call, "attempt": 1, "owner": "o", "output": output})
    assert r.status_code == 204, r.text
    hit = team.call("GET", f"/cache/{key}", team.runtime(team.execution(mia), mia))  # mia's next execution
    assert hit.status_code == 200 and hit.json()["exec_id"] == exec_id and hit.json()["output"]["hash"] == "1" * 64
    index = team.call("GET", "/cache?flow=f", team.runtime(team.execution(mia), mia)).json()
    assert index["complete"] and key[:16] in index["prefixes"]  # her runtimes look this key up, and only such keys
    for other in (gina, team.runtime(team.execution(gina), gina), team.admin):
        miss = team.call("GET", f"/cache/{key}", other)
        assert miss.status_code == 404 and miss.json()["error"]["type"] == "NotFound", miss.text
        assert key[:16] not in team.call("GET", "/cache?flow=f", other).json()["prefixes"]
    assert team.call("GET", f"/cache/{key}", "not-a-token").status_code == 401


def test_runtime_tokens_stop_refreshing_when_the_execution_stops_running(team: Team) -> None:
    _, _, mia = team.user()
    exec_id = team.execution(mia)
    runtime = team.runtime(exec_id, mia)
    fresh = team.call("POST", "/auth/refresh", runtime)
    assert fresh.status_code == 200
    finished = team.call("POST", f"/executions/{exec_id}/finish", runtime, {"owner": "o", "status": "waiting"})
    assert finished.status_code == 204
    stopped = team.call("POST", "/auth/refresh", fresh.json()["access_token"])
    assert stopped.status_code == 403 and "no longer running" in stopped.json()["error"]["message"]


def test_a_runtime_token_chain_never_outlives_its_cap(fresh: Any) -> None:
    team = fresh({"KITARU_SERVER_RUNTIME_TOKEN_MAX_AGE": "4"})
    _, _, mia = team.user()
    exec_id = team.execution(mia)
    minted = team.call("POST", f"/executions/{exec_id}/token", mia).json()
    assert minted["expires_in"] <= 4
    refreshed = team.call("POST", "/auth/refresh", minted["access_token"]).json()
    assert refreshed["expires_in"] <= 4  # the chain keeps its origin: refreshing does not extend it
    time.sleep(4.2)
    for token in (minted["access_token"], refreshed["access_token"]):
        assert team.call("POST", "/auth/refresh", token).status_code == 401
        assert team.call("GET", f"/executions/{exec_id}", token).status_code == 401


# -------------------------------------------------------------------------- tokens and keys
def test_revoked_keys_and_deleted_principals_lose_every_token_at_once(team: Team) -> None:
    tmp, key, token = team.user()
    runtime = team.runtime(team.execution(token), token)
    assert team.call("GET", "/auth/me", token).status_code == 200
    kid = next(k["id"] for k in team.call("GET", "/api-keys", token).json())
    assert team.call("DELETE", f"/api-keys/{kid}", team.admin).status_code == 204
    for dead in (token, runtime):  # the runtime token was minted with the revoked key
        assert team.call("GET", "/auth/me", dead).status_code == 401
    assert http.post(f"{team.url}/auth/token", json={"api_key": key}).status_code == 401

    second = team.call("POST", "/api-keys", team.admin, {"principal": tmp["name"]}).json()["api_key"]
    token2 = team.exchange(second)
    assert team.call("DELETE", f"/users/{tmp['name']}", team.admin).status_code == 204
    for method, path, body in (("GET", "/executions", None), ("POST", "/api-keys", {"name": "comeback"}),
                               ("POST", "/executions/x/token", None)):
        r = team.call(method, path, token2, body)
        assert r.status_code == 401, (path, r.text)


def test_a_deleted_principals_forged_but_validly_signed_token_does_nothing(team: Team) -> None:
    """Even a correctly signed, unexpired token names a principal the server must still know."""
    tmp, _, token = team.user("admin")
    assert team.call("DELETE", f"/users/{tmp['name']}", team.admin).status_code == 204
    comeback = {"name": f"back-{uuid.uuid4().hex[:6]}", "role": "admin"}
    assert team.call("POST", "/users", token, comeback).status_code == 401


def test_revocation_reaches_another_replica_within_seconds(team: Team, tmp_path: Path) -> None:
    key_file = team.server.home / "encryption.key"
    replica = LocalServer(team.server.database_url, tmp_path / "replica", admin_key=ADMIN_KEY,
                          env={"KITARU_SERVER_REVOCATION_CHECK": "1",
                               "KITARU_SERVER_ENCRYPTION_KEY_FILE": str(key_file)})
    with replica:
        _, _, token = team.user()
        other = f"{replica.url}{API}/auth/me"
        assert http.get(other, headers=_h(token)).status_code == 200
        kid = next(k["id"] for k in team.call("GET", "/api-keys", token).json())
        team.call("DELETE", f"/api-keys/{kid}", team.admin).raise_for_status()
        revoked_at, status = time.monotonic(), 200
        while status == 200 and time.monotonic() - revoked_at < 10:
            status = http.get(other, headers=_h(token)).status_code
            time.sleep(0.1)
        assert status == 401 and time.monotonic() - revoked_at < 5  # KITARU_SERVER_REVOCATION_CHECK=1 (default 5)


def _raw_rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    if database_url.startswith("sqlite:///"):
        import sqlite3

        db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def test_a_copied_database_reveals_no_secret_value_and_no_signing_key(team: Team) -> None:
    name = f"s-{uuid.uuid4().hex[:6]}"
    team.call("PUT", f"/secrets/{name}", team.admin, {"data": {"TOKEN": "canary-at-rest"}}).raise_for_status()
    rows = _raw_rows(team.server.database_url, f"SELECT data FROM secrets WHERE name = '{name}'")
    assert rows and "canary-at-rest" not in rows[0][0] and rows[0][0].startswith("enc1:")
    (stored,) = _raw_rows(team.server.database_url, "SELECT value FROM server_keys WHERE name = 'token_signing'")[0]
    assert stored.startswith("enc1:")
    forged = sign(Principal(sub="x", name="admin", role="admin", exp=time.time() + 600), stored.encode())
    assert team.call("GET", "/users", forged).status_code == 401  # the stored value is not the key
    # the key file is the server's alone, and `kitaru server up` said where it is
    key_file = team.server.home / "encryption.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file) in team.server.log.read_text()
    if team.server.database_url.startswith("sqlite:///"):
        db = Path(team.server.database_url.removeprefix("sqlite:///"))
        for path in (db, db.with_name(db.name + "-wal")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_server_with_another_encryption_key_refuses_the_database(team: Team, tmp_path: Path) -> None:
    wrong = LocalServer(team.server.database_url, tmp_path / "wrong", admin_key=ADMIN_KEY,
                        env={"KITARU_SERVER_ENCRYPTION_KEY": "ab" * 32})
    with pytest.raises(RuntimeError, match="not the key this database was encrypted with"):
        wrong.start(timeout=60)


def test_token_exchange_is_rate_limited_per_address_and_failures_are_logged_without_the_key(fresh: Any) -> None:
    team = fresh({"KITARU_SERVER_AUTH_FAILURE_LIMIT": "5", "KITARU_SERVER_AUTH_FAILURE_WINDOW": "60"})
    guesses = [f"kit_guess-{uuid.uuid4().hex}" for _ in range(5)]
    for guess in guesses:
        assert http.post(f"{team.url}/auth/token", json={"api_key": guess}).status_code == 401
    blocked = http.post(f"{team.url}/auth/token", json={"api_key": ADMIN_KEY})  # even the right key waits now
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert blocked.json()["error"]["type"] == "TooManyRequests"
    assert team.call("GET", "/auth/me", team.admin).status_code == 200  # tokens already issued keep working
    log = team.server.log.read_text()
    assert log.count("failed API key exchange from 127.0.0.1") == 5
    assert not any(guess in log or guess[4:] in log for guess in guesses)


def test_upgrading_encrypts_values_an_older_server_stored_in_plaintext(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.server._app import state_service
    from kitaru.server._keys import prepare
    from kitaru.store._databases import open_database
    from kitaru.store._identity import IdentityService
    from kitaru.store.migrations import upgrade

    for kind in ("sqlite", "postgresql"):
        drop = None
        if kind == "postgresql":
            url, drop = pg_database()
        else:
            url = f"sqlite:///{tmp_path / 'old.db'}"
        try:
            upgrade(url, "0002")  # what an older server left behind
            from sqlalchemy import create_engine, text

            engine = create_engine(url)
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO secrets (name, data, created_at, updated_at)"
                                  " VALUES ('old', '{\"K\": \"plain-canary\"}', 1, 1)"))
                conn.execute(text("INSERT INTO server_keys (name, value, created_at)"
                                  " VALUES ('token_signing', 'abc', 1)"))
            engine.dispose()
            monkeypatch.setenv("KITARU_SERVER_HOME", str(tmp_path / kind))
            db = open_database(url)
            box, created = prepare(db)
            assert created and (tmp_path / kind / "encryption.key").exists()
            raw = _raw_rows(url, "SELECT data FROM secrets") + _raw_rows(url, "SELECT value FROM server_keys"
                                                                               " WHERE name = 'token_signing'")
            assert all(v.startswith("enc1:") for (v,) in raw) and "plain-canary" not in str(raw)
            assert state_service(db, box).get_secret("old") == {"K": "plain-canary"}
            assert IdentityService(db, box).signing_keys()[0] == b"abc"
            db.close()
        finally:
            if drop is not None:
                drop()  # type: ignore[operator]


# ------------------------------------------------------------------------------- local mode
def test_local_secret_values_are_encrypted_at_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from kitaru.store import StateService
    from kitaru.store._sqlite import SQLiteDatabase

    monkeypatch.delenv("KITARU_ENCRYPTION_KEY", raising=False)
    state = StateService(SQLiteDatabase(tmp_path / "kitaru.db"))
    state.put_secret("llm", {"OPENAI_API_KEY": "sk-local-canary"})
    raw = sqlite3.connect(tmp_path / "kitaru.db").execute("SELECT data FROM secrets").fetchone()[0]
    assert raw.startswith("enc1:") and "sk-local-canary" not in raw
    assert stat.S_IMODE((tmp_path / "encryption.key").stat().st_mode) == 0o600
    reopened = StateService(SQLiteDatabase(tmp_path / "kitaru.db"))
    assert reopened.get_secret("llm") == {"OPENAI_API_KEY": "sk-local-canary"}
    assert state.list_secrets()[0]["keys"] == ["OPENAI_API_KEY"]
    # the same mechanism as the server's: a key from the environment wins, and a wrong one is refused clearly
    monkeypatch.setenv("KITARU_ENCRYPTION_KEY", "cd" * 32)
    from kitaru.errors import KitaruBackendError

    with pytest.raises(KitaruBackendError, match="not the key the value was encrypted with"):
        StateService(SQLiteDatabase(tmp_path / "kitaru.db")).get_secret("llm")
    assert os.environ["KITARU_ENCRYPTION_KEY"] not in (tmp_path / "encryption.key").read_text()


def test_rotating_the_encryption_key_keeps_secrets_and_tokens_and_retires_the_old_key(fresh: Any,
                                                                                      tmp_path: Path) -> None:
    from kitaru.testing._forked import run_kitaru

    team = fresh({})
    team.call("PUT", "/secrets/llm", team.admin, {"data": {"KEY": "canary-rotate"}}).raise_for_status()
    team.call("PUT", "/models/smart", team.admin, {"model": "openai/x", "secret": "llm"}).raise_for_status()
    token, server = team.admin, team.server
    server.stop()
    new_key = tmp_path / "keys" / "new.key"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env.update(KITARU_SERVER_HOME=str(server.home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = run_kitaru(["server", "rotate-encryption-key", "--database-url", server.database_url,
                       "--new-key-file", str(new_key), "-o", "json"], cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(new_key.stat().st_mode) == 0o600
    with pytest.raises(RuntimeError, match="not the key this database was encrypted with"):
        server.start(timeout=60)  # the old key file is retired
    server.extra_env["KITARU_SERVER_ENCRYPTION_KEY_FILE"] = str(new_key)
    server.start()
    assert team.call("GET", "/auth/me", token).status_code == 200  # the signing key survived the rotation
    _, _, mia = team.user()
    runtime = team.runtime(team.execution(mia), mia)
    assert team.call("GET", "/secrets/llm/value", runtime).json() == {"KEY": "canary-rotate"}
