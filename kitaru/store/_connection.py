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


def active_connection() -> dict[str, Any] | None:
    """{url, token, api_key} from the environment (wins) or the saved login; None: use the embedded store."""
    url = os.environ.get("KITARU_SERVER_URL")
    if url:
        return {"url": url, "token": os.environ.get("KITARU_AUTH_TOKEN") or None,
                "api_key": os.environ.get("KITARU_API_KEY") or None}
    path = connection_path()
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError):
        from kitaru.errors import KitaruUsageError

        raise KitaruUsageError(f"{path} is unreadable; run `kitaru logout` and `kitaru login` again") from None
    return {"url": saved["url"], "token": None, "api_key": saved.get("api_key")} if saved.get("url") else None


def save_connection(url: str, api_key: str) -> Path:
    """Persist a login (chmod 600: it holds an API key)."""
    path = connection_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url.rstrip("/"), "api_key": api_key}, f)
    os.chmod(path, 0o600)
    return path


def forget_connection() -> bool:
    """Remove the saved login; True if there was one."""
    try:
        connection_path().unlink()
    except FileNotFoundError:
        return False
    return True
