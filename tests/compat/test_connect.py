"""Kitaru 0.4 compatibility: `connect(...)` persists the login like `kitaru login` (issue 12, "SDK behaviour")."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru
from tests.server.support import ADMIN_KEY, ServerProcess


@pytest.fixture
def fresh_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private KITARU_CONFIG_PATH, no server in the environment; forgets the connection afterwards."""
    import kitaru.store

    config_dir = tmp_path / "user-config"
    monkeypatch.setenv("KITARU_CONFIG_PATH", str(config_dir))
    for var in ("KITARU_SERVER_URL", "KITARU_API_KEY", "KITARU_AUTH_TOKEN", "KITARU_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    yield config_dir
    kitaru.store.disconnect()
    with kitaru.store._lock:
        kitaru.store._remotes.clear()


@pytest.mark.parametrize("url", ["not a url", "ftp://host", "http://", "localhost:8080", "http://host:port"])
def test_invalid_url_is_a_usage_error(url: str, fresh_login: Path) -> None:
    with pytest.raises(kitaru.KitaruUsageError, match="Invalid Kitaru server URL"):
        kitaru.connect(url, api_key="kit_x")
    assert not (fresh_login / "connection.json").exists()


def test_connect_persists_the_login_and_this_process_uses_it(sqlite_server: ServerProcess, fresh_login: Path) -> None:
    from kitaru.config import resolve_connection_config
    from kitaru.store import current_state, is_remote

    assert kitaru.connect(sqlite_server.url, api_key=ADMIN_KEY, project="agents", timeout=12) is None
    saved_path = fresh_login / "connection.json"
    saved = json.loads(saved_path.read_text())
    assert saved["url"] == sqlite_server.url.rstrip("/") and saved["api_key"] == ADMIN_KEY
    assert (saved["project"], saved["timeout"]) == ("agents", 12)
    assert stat.S_IMODE(os.stat(saved_path).st_mode) == 0o600
    assert is_remote(current_state())
    conn = resolve_connection_config()
    assert (conn.url, conn.source, conn.project, conn.timeout) == (sqlite_server.url.rstrip("/"), "login", "agents", 12)
    # a later connect to the same server needs no key (the saved one), unless refresh=True asks for a new login
    kitaru.connect(sqlite_server.url)
    with pytest.raises(kitaru.KitaruUsageError, match="no API key"):
        kitaru.connect(sqlite_server.url, refresh=True)


def test_a_wrong_key_is_refused_and_nothing_is_saved(sqlite_server: ServerProcess, fresh_login: Path) -> None:
    with pytest.raises(kitaru.KitaruBackendError):
        kitaru.connect(sqlite_server.url, api_key="kit_not-a-real-key")
    assert not (fresh_login / "connection.json").exists()


def test_kitaru_auth_token_may_hold_an_api_key(sqlite_server: ServerProcess, fresh_login: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.client import KitaruClient
    from kitaru.store._connection import active_connection

    monkeypatch.setenv("KITARU_SERVER_URL", sqlite_server.url)
    monkeypatch.setenv("KITARU_AUTH_TOKEN", ADMIN_KEY)  # the reference's meaning: an API key
    conn = active_connection()
    assert conn is not None and (conn["api_key"], conn["token"]) == (ADMIN_KEY, None)
    assert KitaruClient().executions.list() == []  # the server accepted it


def test_no_verify_ssl_and_ca_bundle_are_saved(sqlite_server: ServerProcess, fresh_login: Path,
                                               tmp_path: Path) -> None:
    with pytest.raises(kitaru.KitaruUsageError, match="ssl_ca_cert"):
        kitaru.connect(sqlite_server.url, api_key=ADMIN_KEY, ssl_ca_cert=str(tmp_path / "missing.pem"))
    kitaru.connect(sqlite_server.url, api_key=ADMIN_KEY, no_verify_ssl=True)
    assert json.loads((fresh_login / "connection.json").read_text())["verify_ssl"] is False
