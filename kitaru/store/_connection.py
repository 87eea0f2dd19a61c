"""Which server (if any) this process talks to: KITARU_SERVER_URL, or a saved `kitaru login`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONNECTION_FILE = "connection.json"


def connection_path() -> Path:
    """Where `kitaru login` saves the server URL and API key (mode 600)."""
    from kitaru.config._paths import user_config_dir

    return user_config_dir() / CONNECTION_FILE


API_KEY_PREFIX = "kit_"
_TLS_KEYS = ("timeout", "verify_ssl", "ssl_ca_cert")


def env_credentials() -> tuple[str | None, str | None]:
    """(token, api_key) from the environment. KITARU_AUTH_TOKEN may hold an API key (Kitaru 0.4's meaning)
    as well as a token: an API key (`kit_…`) there is used as one."""
    token = os.environ.get("KITARU_AUTH_TOKEN") or None
    api_key = os.environ.get("KITARU_API_KEY") or None
    if token and token.startswith(API_KEY_PREFIX):
        token, api_key = None, api_key or token
    return token, api_key


def tls_options(saved: dict[str, Any]) -> dict[str, Any]:
    """The transport options a saved login carries (timeout, certificate checks)."""
    return {k: saved[k] for k in _TLS_KEYS if saved.get(k) is not None}


def active_connection() -> dict[str, Any] | None:
    """{url, token, api_key, tls} from the environment (wins) or the saved login; None: use the embedded store."""
    url = os.environ.get("KITARU_SERVER_URL")
    if url:
        token, api_key = env_credentials()
        return {"url": url, "token": token, "api_key": api_key, "tls": {}}
    path = connection_path()
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError(f"{path} is unreadable; run `kitaru logout` and `kitaru login` again") from None
    if not saved.get("url"):
        return None
    return {"url": saved["url"], "token": None, "api_key": saved.get("api_key"), "tls": tls_options(saved)}


def saved_connection() -> dict[str, Any] | None:
    """The saved login as stored (url, api_key, project, TLS options), or None."""
    try:
        saved = json.loads(connection_path().read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and saved.get("url") else None


def save_connection(url: str, api_key: str, **extra: Any) -> Path:
    """Persist a login (chmod 600: it holds an API key); `extra`: project, timeout, verify_ssl, ssl_ca_cert."""
    path = connection_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url.rstrip("/"), "api_key": api_key,
                   **{k: v for k, v in extra.items() if v is not None}}, f)
    os.chmod(path, 0o600)
    return path


def forget_connection() -> bool:
    """Remove the saved login; True if there was one."""
    try:
        connection_path().unlink()
    except FileNotFoundError:
        return False
    return True
