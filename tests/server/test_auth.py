"""Authorization matrix per route group: missing, expired or forged tokens, runtime tokens, admin, member, viewer."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
import uuid
from typing import Any

import pytest

from kitaru.auth import Principal, sign
from kitaru.testing._forked import run_kitaru
from tests.server.support import ADMIN_KEY, SECRET_KEY, ServerProcess, admin_token
from tests.support import http

API = "/api/v1"
A, B = uuid.uuid4().hex, uuid.uuid4().hex
WHO = ("admin", "member", "viewer", "own_exec", "other_exec")


def _h(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _user(url: str, admin: str, name: str, role: str) -> tuple[str, str]:
    """Create a user with an API key; return (key, token)."""
    r = http.post(f"{url}{API}/users", json={"name": name, "role": role}, headers=_h(admin))
    assert r.status_code == 201, r.text
    key = http.post(f"{url}{API}/api-keys", json={"principal": name}, headers=_h(admin)).json()["api_key"]
    return key, http.post(f"{url}{API}/auth/token", json={"api_key": key}).json()["access_token"]


def _create(url: str, token: str, exec_id: str, stack: str = "default") -> None:
    record = {"id": exec_id, "flow_name": "f", "flow_source": {}, "stack": stack, "inputs": {}}
    r = http.post(f"{url}{API}/executions", json={"record": record, "owner": "o", "lease_ttl": 60}, headers=_h(token))
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def tokens(sqlite_server: ServerProcess) -> dict[str, str]:
    """One token per kind of caller; execution A (stack default) was started by the member, B (stack other) by
    the admin; each runtime token was minted by its execution's owner."""
    url, admin = sqlite_server.url, admin_token(sqlite_server)
    key, member = _user(url, admin, "mia", "member")
    _, viewer = _user(url, admin, "vic", "viewer")
    _create(url, member, A)
    _create(url, admin, B, "other")
    own = http.post(f"{url}{API}/executions/{A}/token", headers=_h(member)).json()["access_token"]
    http.put(f"{url}{API}/secrets/llm", json={"data": {"OPENAI_API_KEY": "sk-very-secret"}}, headers=_h(admin))
    http.put(f"{url}{API}/models/smart", json={"model": "openai/gpt-4o", "secret": "llm"}, headers=_h(admin))
    # tokens that were valid until their key was revoked or their principal deleted
    rex_key, revoked = _user(url, admin, "rex", "admin")
    rex_runtime = http.post(f"{url}{API}/executions/{B}/token", headers=_h(revoked)).json()["access_token"]
    rex_kid = next(k["id"] for k in http.get(f"{url}{API}/api-keys", headers=_h(revoked)).json()
                   if k["principal"] == "rex")
    assert http.delete(f"{url}{API}/api-keys/{rex_kid}", headers=_h(admin)).status_code == 204
    _, deleted = _user(url, admin, "dora", "admin")
    dora_exec = uuid.uuid4().hex
    _create(url, deleted, dora_exec)
    dora_runtime = http.post(f"{url}{API}/executions/{dora_exec}/token", headers=_h(deleted)).json()["access_token"]
    assert http.delete(f"{url}{API}/users/dora", headers=_h(admin)).status_code == 204
    return {"admin": admin, "member": member, "viewer": viewer, "own_exec": own,
            "other_exec": http.post(f"{url}{API}/executions/{B}/token", headers=_h(admin)).json()["access_token"],
            "member_key": key, "revoked_key": revoked, "revoked_key_runtime": rex_runtime,
            "deleted_principal": deleted, "deleted_principal_runtime": dora_runtime}


# (group, method, path, body, expected status for admin / member / viewer / A's runtime token / B's runtime token);
# A belongs to the member: only its owner and its own runtime write its journal, lease and logs (admins neither)
MATRIX: list[tuple[str, str, str, Any, tuple[int, int, int, int, int]]] = [
    ("executions", "GET", "/executions", None, (200, 200, 200, 403, 403)),
    ("executions", "GET", f"/executions/{A}", None, (200, 200, 200, 200, 403)),
    ("executions", "PUT", f"/executions/{A}/lease", {"owner": "x"}, (403, 200, 403, 200, 403)),
    ("executions", "POST", f"/executions/{A}/claim", {"owner": "z", "lease_ttl": 60}, (403, 409, 403, 409, 403)),
    ("executions", "POST", f"/executions/{A}/token", None, (200, 200, 403, 403, 403)),
    ("executions", "POST", f"/executions/{B}/token", None, (200, 403, 403, 403, 403)),
    ("executions", "POST", "/executions/expire-lost", None, (200, 200, 200, 403, 403)),
    ("journal", "GET", f"/executions/{A}/calls", None, (200, 200, 200, 200, 403)),
    ("journal", "POST", f"/executions/{A}/calls/complete",
     {"call": {"invocation_id": "s", "seq": 0, "name": "s"}, "attempt": 1, "owner": "x", "output": {}},
     (403, 409, 403, 409, 403)),
    ("attempts", "GET", f"/executions/{A}/attempts", None, (200, 200, 200, 200, 403)),
    ("waits", "GET", f"/executions/{A}/waits", None, (200, 200, 200, 200, 403)),
    ("waits", "GET", "/waits", None, (200, 200, 200, 403, 403)),
    ("logs", "POST", f"/executions/{A}/logs", {"entries": []}, (403, 204, 403, 204, 403)),
    ("logs", "GET", f"/executions/{A}/logs", None, (200, 200, 200, 200, 403)),
    ("artifacts", "GET", f"/artifacts?exec_id={A}", None, (200, 200, 200, 200, 403)),
    ("artifacts", "GET", "/artifacts", None, (200, 200, 200, 403, 403)),
    ("stacks", "GET", "/stacks", None, (200, 200, 200, 200, 200)),
    ("stacks", "PUT", "/stacks/extra", {"spec": {"orchestrator": {"flavor": "local"}}}, (204, 403, 403, 403, 403)),
    ("credentials", "POST", "/stacks/default/credentials", {"access": "write", "scope": "blobs"},
     (200, 403, 403, 200, 403)),
    ("credentials", "POST", "/stacks/default/credentials", {"access": "write", "scope": "executions/other"},
     (200, 403, 403, 403, 403)),
    ("credentials", "POST", "/stacks/default/credentials", {"access": "read", "scope": ""},
     (200, 200, 200, 200, 403)),
    ("secrets", "GET", "/secrets", None, (200, 200, 200, 403, 403)),
    ("secrets", "PUT", "/secrets/other", {"data": {"K": "v"}}, (204, 403, 403, 403, 403)),
    ("secrets", "GET", "/secrets/llm/value", None, (403, 403, 403, 200, 200)),
    ("secrets", "PUT", "/secrets/llm/grants/vic", None, (204, 403, 403, 403, 403)),
    ("models", "GET", "/models", None, (200, 200, 200, 200, 200)),
    ("models", "PUT", "/models/fast", {"model": "openai/gpt-4o-mini"}, (204, 204, 403, 403, 403)),
    ("models", "PUT", "/models/leak", {"model": "openai/gpt-4o", "secret": "llm"}, (204, 403, 403, 403, 403)),
    ("settings", "GET", "/settings/active_stack", None, (200, 200, 200, 200, 200)),
    ("settings", "PUT", "/settings/some_key", {"value": 1}, (204, 204, 403, 403, 403)),
    ("users", "GET", "/users", None, (200, 403, 403, 403, 403)),
    ("service-accounts", "POST", "/service-accounts", {"name": "ci-bot"}, (201, 403, 403, 403, 403)),
    ("api-keys", "GET", "/api-keys", None, (200, 200, 200, 403, 403)),
    ("auth", "GET", "/auth/me", None, (200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize(("group", "method", "path", "body", "expected"), MATRIX,
                         ids=[f"{m[0]}:{m[1]} {m[2].replace(A, 'A').replace(B, 'B')} {i}"
                              for i, m in enumerate(MATRIX)])
def test_authorization_matrix(sqlite_server: ServerProcess, tokens: dict[str, str], group: str, method: str,
                              path: str, body: Any, expected: tuple[int, ...]) -> None:
    url = f"{sqlite_server.url}{API}{path}"
    expired = sign(Principal(sub="x", name="admin", role="admin", exp=time.time() - 1), SECRET_KEY.encode())
    forged = sign(Principal(sub="x", name="admin", role="admin", exp=time.time() + 600), b"not-the-key")
    dead = [tokens[k] for k in ("revoked_key", "revoked_key_runtime", "deleted_principal", "deleted_principal_runtime")]
    for bad in (None, expired, forged, "garbage", *dead):
        r = http.request(method, url, json=body, headers=_h(bad))
        assert r.status_code == 401, (bad, r.text)
        assert r.json()["error"]["type"] == "Unauthorized"
    for who, status in zip(WHO, expected):
        if group == "service-accounts" and who == "admin":
            body = {"name": f"ci-{uuid.uuid4().hex[:6]}"}
        r = http.request(method, url, json=body, headers=_h(tokens[who]))
        assert r.status_code == status, (who, r.text)
        if status >= 400:
            assert set(r.json()["error"]) == {"type", "message"}


def test_open_routes_and_token_exchange(sqlite_server: ServerProcess) -> None:
    assert http.get(f"{sqlite_server.url}/health").json() == {"status": "ok"}
    assert http.get(f"{sqlite_server.url}/ready").status_code == 200
    assert http.get(f"{sqlite_server.url}{API}/openapi.json").json()["info"]["title"] == "Kitaru server"
    bad = http.post(f"{sqlite_server.url}{API}/auth/token", json={"api_key": "kit_wrong-key-123"})
    assert bad.status_code == 401 and bad.json()["error"]["type"] == "Unauthorized"


def test_secret_values_are_never_returned_to_users(sqlite_server: ServerProcess, tokens: dict[str, str]) -> None:
    for who in ("admin", "member"):
        listed = http.get(f"{sqlite_server.url}{API}/secrets", headers=_h(tokens[who]))
        assert "sk-very-secret" not in listed.text and listed.json()[0]["keys"] == ["OPENAI_API_KEY"]


def test_a_members_runtime_reads_only_secrets_its_stack_or_a_model_alias_references(
        sqlite_server: ServerProcess, tokens: dict[str, str]) -> None:
    url = f"{sqlite_server.url}{API}"
    assert http.put(f"{url}/secrets/db-password", json={"data": {"PASSWORD": "hunter2"}},
                    headers=_h(tokens["admin"])).status_code == 204
    denied = http.get(f"{url}/secrets/db-password/value", headers=_h(tokens["own_exec"]))  # started by a member
    assert denied.status_code == 403 and "hunter2" not in denied.text
    assert "not referenced by stack 'default' or a model alias" in denied.json()["error"]["message"]
    assert http.get(f"{url}/secrets/llm/value", headers=_h(tokens["own_exec"])).json() == {
        "OPENAI_API_KEY": "sk-very-secret"}  # the model alias `smart` references it
    admins = http.get(f"{url}/secrets/db-password/value", headers=_h(tokens["other_exec"]))  # started by an admin
    assert admins.status_code == 403 and "hunter2" not in admins.text  # named by neither its stack nor an alias
    # once a stack references it, a member's runtime on that stack may read it
    spec = {"orchestrator": {"flavor": "local"},
            "artifact_store": {"flavor": "x", "password": {"secret": "db-password"}}}
    assert http.put(f"{url}/stacks/with-db", json={"spec": spec}, headers=_h(tokens["admin"])).status_code == 204
    exec_id = uuid.uuid4().hex
    _create(sqlite_server.url, tokens["member"], exec_id, "with-db")
    runtime = http.post(f"{url}/executions/{exec_id}/token", headers=_h(tokens["member"])).json()["access_token"]
    assert http.get(f"{url}/secrets/db-password/value", headers=_h(runtime)).json() == {"PASSWORD": "hunter2"}


def test_credentials_ttl_is_capped_and_scope_checked(sqlite_server: ServerProcess, tokens: dict[str, str]) -> None:
    url = f"{sqlite_server.url}{API}/stacks/default/credentials"
    r = http.post(url, json={"access": "read", "scope": "blobs", "ttl": 7200}, headers=_h(tokens["member"]))
    assert r.status_code == 200 and r.json()["access"] == "read"
    from datetime import datetime

    remaining = datetime.fromisoformat(r.json()["expires_at"]).timestamp() - time.time()
    assert 3500 < remaining <= 3600
    default = http.post(url, json={"scope": "x"}, headers=_h(tokens["member"])).json()
    assert 800 < datetime.fromisoformat(default["expires_at"]).timestamp() - time.time() <= 900
    assert http.post(url, json={"scope": "../etc"}, headers=_h(tokens["admin"])).status_code == 422
    assert http.post(f"{sqlite_server.url}{API}/stacks/nope/credentials", json={},
                     headers=_h(tokens["admin"])).status_code == 404


def test_api_keys_are_hashed_rotated_and_revoked(sqlite_server: ServerProcess, tokens: dict[str, str]) -> None:
    url, admin = sqlite_server.url, tokens["admin"]
    created = http.post(f"{url}{API}/api-keys", json={"name": "ci"}, headers=_h(admin)).json()
    key = created["api_key"]
    db = sqlite3.connect(sqlite_server.database_url.removeprefix("sqlite:///"))
    stored = json.dumps(db.execute("SELECT * FROM api_keys").fetchall())
    db.close()
    assert key not in stored and ADMIN_KEY not in stored
    rotated = http.post(f"{url}{API}/api-keys/{created['id']}/rotate", headers=_h(admin)).json()
    assert http.post(f"{url}{API}/auth/token", json={"api_key": key}).status_code == 401
    assert http.post(f"{url}{API}/auth/token", json={"api_key": rotated["api_key"]}).status_code == 200
    assert http.delete(f"{url}{API}/api-keys/{rotated['id']}", headers=_h(admin)).status_code == 204
    assert http.post(f"{url}{API}/auth/token", json={"api_key": rotated["api_key"]}).status_code == 401
    # a member cannot touch someone else's key
    admin_keys = [k for k in http.get(f"{url}{API}/api-keys", headers=_h(admin)).json() if k["principal"] == "admin"]
    r = http.delete(f"{url}{API}/api-keys/{admin_keys[0]['id']}", headers=_h(tokens["member"]))
    assert r.status_code == 404


def test_login_logout_and_auth_cli(sqlite_server: ServerProcess, tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KITARU_SERVER_URL", "KITARU_API_KEY", "KITARU_AUTH_TOKEN")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")

    def kitaru(*args: str) -> Any:
        done = run_kitaru([*args, "-o", "json"], cwd=tmp_path, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    login = kitaru("login", sqlite_server.url, "--api-key", ADMIN_KEY)
    assert login["item"]["role"] == "admin"
    path = tmp_path / "xdg" / "kitaru" / "connection.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kitaru("auth", "service-accounts", "create", "deployer")
    key = kitaru("auth", "api-keys", "create", "--for", "deployer", "--name", "deploy")["item"]
    assert key["api_key"].startswith("kit_")
    assert "deploy" in [k["name"] for k in kitaru("auth", "api-keys", "list")["items"]]
    assert kitaru("auth", "api-keys", "delete", key["id"])["item"]["deleted"] is True
    assert kitaru("logout")["item"]["logged_out"] is True and not path.exists()


def test_signing_key_rotation_keeps_current_tokens_until_the_next_rotation(tmp_path: Any) -> None:
    from kitaru.testing import LocalServer

    db = f"sqlite:///{tmp_path / 'server.db'}"

    def rotate(*extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_SERVER")}
        env["KITARU_SERVER_HOME"] = str(tmp_path / "home")  # where the server keeps its encryption key
        done = run_kitaru(["server", "rotate-signing-key", "--database-url", db, *extra, "-o", "json"], cwd=tmp_path,
                          env=env, timeout=60)
        assert done.returncode == 0, done.stderr

    def eventually(check: Any, what: str) -> None:
        """The server re-reads its keys every KITARU_SERVER_KEY_REFRESH seconds: poll for the effect, bounded."""
        deadline = time.monotonic() + 30
        while not check():
            assert time.monotonic() < deadline, f"after 30 s still not: {what}"
            time.sleep(0.05)

    def signed_with_the_current_key(token: str) -> bool:
        """Whether the database's current signing key signed `token` (a token does not name its key)."""
        from kitaru.auth import verify
        from kitaru.server._keys import server_box
        from kitaru.store._databases import open_database
        from kitaru.store._identity import IdentityService

        store = open_database(db)
        try:
            current = IdentityService(store, server_box(tmp_path / "home", create=False)[0]).signing_keys()[0]
        finally:
            store.close()
        return verify(token, current) is not None

    def me(server: LocalServer, token: str) -> int:
        return http.get(f"{server.url}{API}/auth/me", headers=_h(token)).status_code

    # no KITARU_SERVER_SECRET_KEY: the key lives in the database, as in production
    with LocalServer(db, tmp_path / "home", env={"KITARU_SERVER_KEY_REFRESH": "0.3"}) as server:
        first = server.token()
        rotate()
        eventually(lambda: signed_with_the_current_key(server.token()), "signing with the new key")
        assert not signed_with_the_current_key(first)
        second = server.token()
        assert me(server, first) == 200 and me(server, second) == 200  # the retired key is still accepted
        rotate()
        eventually(lambda: me(server, first) == 401, "two rotations back rejected")
        assert me(server, second) == 200
        rotate("--revoke-previous")  # after a leak: every older token is invalid at once
        eventually(lambda: me(server, second) == 401, "older tokens revoked")
        assert me(server, server.token()) == 200


def test_previous_keys_from_the_environment_are_accepted_for_verification_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.auth import verify
    from kitaru.store._identity import IdentityService

    monkeypatch.setenv("KITARU_SERVER_SECRET_KEY", "new-key")
    monkeypatch.setenv("KITARU_SERVER_PREVIOUS_SECRET_KEYS", "old-key, older-key")
    assert IdentityService(db=None).signing_keys() == (b"new-key", b"old-key", b"older-key")

    old = sign(Principal(sub="u", name="n", role="member", exp=time.time() + 60), b"old-key")
    assert verify(old, (b"new-key", b"old-key")) is not None
    assert verify(old, (b"new-key",)) is None and verify(old, b"new-key") is None
