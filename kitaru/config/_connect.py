"""`kitaru.connect(...)` / `login_to_server(...)`: log in to a Kitaru server from Python, saved like `kitaru login`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kitaru.errors import KitaruUsageError


@dataclass(frozen=True)
class ConnectionConfig:
    """Where this process's SDK, CLI and runners send their calls: a server (`url`) or the embedded store."""

    url: str | None
    api_key_set: bool
    token_set: bool
    source: str  # "environment" | "login" | "embedded"
    project: str | None = None
    verify_ssl: bool = True
    ssl_ca_cert: str | None = None
    timeout: float | None = None

    @property
    def is_remote(self) -> bool:
        """Whether calls go to a Kitaru server."""
        return self.url is not None


def _check_url(server_url: str) -> str:
    parts = urlsplit(server_url.strip()) if isinstance(server_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise KitaruUsageError(f"Invalid Kitaru server URL {server_url!r}: expected http(s)://host[:port],"
                               " e.g. https://kitaru.example.com")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise KitaruUsageError(f"Invalid Kitaru server URL {server_url!r}: the port is not a number") from None
    return server_url.strip().rstrip("/")


def login_to_server(
    server_url: str,
    *,
    api_key: str | None = None,
    refresh: bool = False,
    project: str | None = None,
    no_verify_ssl: bool = False,
    ssl_ca_cert: str | None = None,
    timeout: float | None = None,
) -> ConnectionConfig:
    """Check the server accepts the key, save the login (mode 600) and use it in this process.

    Without `api_key`: the key saved for this server (unless `refresh=True`), else KITARU_API_KEY or an API
    key in KITARU_AUTH_TOKEN. `refresh=True` exchanges the key for a fresh token even if one is cached.
    """
    url = _check_url(server_url)
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise KitaruUsageError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if ssl_ca_cert is not None and not os.path.isfile(ssl_ca_cert):
        raise KitaruUsageError(f"ssl_ca_cert {ssl_ca_cert!r} is not a file; give the path of a PEM CA bundle")
    from kitaru.store import connect as store_connect
    from kitaru.store._connection import env_credentials, saved_connection

    if api_key is None and not refresh:
        saved = saved_connection()
        if saved and saved["url"].rstrip("/") == url:
            api_key = saved.get("api_key")
    if api_key is None:
        api_key = env_credentials()[1]
    if not api_key:
        raise KitaruUsageError(f"no API key to log in to {url}: pass api_key=..., or set KITARU_API_KEY;"
                               " create a key with `kitaru auth api-keys create`")
    tls: dict[str, Any] = {"timeout": timeout, "ssl_ca_cert": ssl_ca_cert,
                           "verify_ssl": False if no_verify_ssl else None}
    state = store_connect(url, api_key=api_key, save=True, project=project, **tls)
    if refresh:
        state.http.token(renew=True)
    _forget_cached_remotes()
    return ConnectionConfig(url=state.url, api_key_set=True, token_set=False, source="login", project=project,
                            verify_ssl=not no_verify_ssl, ssl_ca_cert=ssl_ca_cert, timeout=timeout)


def connect(
    server_url: str,
    *,
    api_key: str | None = None,
    refresh: bool = False,
    project: str | None = None,
    no_verify_ssl: bool = False,
    ssl_ca_cert: str | None = None,
    timeout: float | None = None,
) -> None:
    """Connect the SDK, CLI and runners to a Kitaru server and save the login, as `kitaru login` does."""
    login_to_server(server_url, api_key=api_key, refresh=refresh, project=project, no_verify_ssl=no_verify_ssl,
                    ssl_ca_cert=ssl_ca_cert, timeout=timeout)


def _forget_cached_remotes() -> None:
    import kitaru.store as store

    with store._lock:
        store._remotes.clear()


def resolve_connection_config() -> ConnectionConfig:
    """Which server this process talks to and from where that came (environment, saved login), or embedded."""
    from kitaru.store._connection import env_credentials, saved_connection

    url = os.environ.get("KITARU_SERVER_URL")
    if url:
        token, api_key = env_credentials()
        return ConnectionConfig(url=url.rstrip("/"), api_key_set=bool(api_key), token_set=bool(token),
                                source="environment", project=os.environ.get("KITARU_PROJECT") or None)
    saved = saved_connection()
    if saved:
        return ConnectionConfig(url=saved["url"], api_key_set=bool(saved.get("api_key")), token_set=False,
                                source="login", project=os.environ.get("KITARU_PROJECT") or saved.get("project"),
                                verify_ssl=saved.get("verify_ssl", True) is not False,
                                ssl_ca_cert=saved.get("ssl_ca_cert"), timeout=saved.get("timeout"))
    return ConnectionConfig(url=None, api_key_set=False, token_set=False, source="embedded",
                            project=os.environ.get("KITARU_PROJECT") or None)
