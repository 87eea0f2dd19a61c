"""HTTP plumbing of the remote state service: bearer tokens, bounded retries with backoff, error mapping."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import httpx

from kitaru.errors import KitaruBackendError, KitaruStateError, KitaruUsageError, KitaruWaitValidationError
from kitaru.store.service import CancelRequested, LeaseLost

API = "/api/v1"
_RETRY_STATUS = frozenset({502, 503, 504})
_ERRORS: dict[str, type[Exception]] = {
    "LeaseLost": LeaseLost, "CancelRequested": CancelRequested, "KitaruStateError": KitaruStateError,
    "KitaruUsageError": KitaruUsageError, "KitaruWaitValidationError": KitaruWaitValidationError,
    "ValidationError": KitaruUsageError, "InvalidValue": KitaruUsageError,
}


class Duplicate(KitaruStateError):
    """The server already holds a record with this key (409 Duplicate)."""


class NotFound(KitaruStateError):
    """The server answered 404."""


class Transport:
    """One pooled HTTP/1.1 connection set to a Kitaru server, safe to share between threads."""

    def __init__(self, url: str, *, token: str | None = None, api_key: str | None = None,
                 retry_seconds: float | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        for noisy in ("httpx", "httpcore"):  # per-request INFO lines would flood captured flow logs
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self.api_key = api_key
        self._token = token
        self._token_lock = threading.Lock()
        self.retry_seconds = retry_seconds if retry_seconds is not None else float(
            os.environ.get("KITARU_CLIENT_RETRY_SECONDS", "60"))
        self.client = httpx.Client(base_url=self.url, timeout=timeout,
                                   limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))

    # ------------------------------------------------------------------ tokens
    def _exchange(self) -> str:
        resp = self._send_retrying("POST", f"{API}/auth/token", {"json": {"api_key": self.api_key}})
        if resp.status_code != 200:
            raise KitaruBackendError(f"the server at {self.url} rejected the API key ({_message(resp)});"
                                     " create one with `kitaru auth api-keys create` and `kitaru login`")
        return str(resp.json()["access_token"])

    def token(self, *, renew: bool = False) -> str | None:
        """A valid bearer token: exchanged from the API key, or refreshed when a runtime token nears expiry."""
        from kitaru.server._tokens import peek_expiry

        with self._token_lock:
            exp = peek_expiry(self._token) if self._token else None
            stale = renew or self._token is None or (exp is not None and exp - time.time() < 120)
            if stale and self.api_key:
                self._token = self._exchange()
            elif stale and self._token and exp is not None and exp - time.time() < 1200:
                resp = self._send_retrying("POST", f"{API}/auth/refresh", {"headers": self._auth(self._token)})
                if resp.status_code == 200:
                    self._token = str(resp.json()["access_token"])
            return self._token

    @staticmethod
    def _auth(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    # ---------------------------------------------------------------- requests
    def _send_retrying(self, method: str, path: str, kwargs: dict[str, Any], retried: list[bool] | None = None
                       ) -> httpx.Response:
        deadline, delay, last = time.monotonic() + self.retry_seconds, 0.05, None
        while True:
            try:
                resp = self.client.request(method, path, **kwargs)
                if resp.status_code not in _RETRY_STATUS:
                    return resp
                last = f"HTTP {resp.status_code}"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if retried is not None:
                retried.append(True)
            if time.monotonic() + delay > deadline:
                raise KitaruBackendError(f"the Kitaru server at {self.url} is unreachable ({last}); gave up after"
                                         f" {self.retry_seconds:.0f}s — check `kitaru status` or the server logs")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> tuple[Any, bool]:
        """Send with retries; return (decoded body or None, whether the request was retried). Raises mapped errors."""
        kwargs: dict[str, Any] = {"params": params, "headers": {**(headers or {}), **self._auth(self.token())}}
        if json is not None:
            kwargs["json"] = json
        flags: list[bool] = []
        resp = self._send_retrying(method, f"{API}{path}", kwargs, flags)
        if resp.status_code == 401 and self.api_key:
            kwargs["headers"].update(self._auth(self.token(renew=True)))
            resp = self._send_retrying(method, f"{API}{path}", kwargs, flags)
        retried = bool(flags)
        if resp.status_code < 300:
            return (resp.json() if resp.content else None), retried
        raise _error(resp, retried)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _message(resp: httpx.Response) -> str:
    try:
        return str(resp.json()["error"]["message"])
    except Exception:  # noqa: BLE001 - not our error body
        return f"HTTP {resp.status_code}"


def _error(resp: httpx.Response, retried: bool) -> Exception:
    try:
        kind = str(resp.json()["error"]["type"])
    except Exception:  # noqa: BLE001
        kind = ""
    message = _message(resp)
    if resp.status_code == 404 and kind == "NotFound":
        return NotFound(message)
    if kind == "Duplicate":
        err = Duplicate(message)
        err.retried = retried  # type: ignore[attr-defined]
        return err
    if kind in _ERRORS:
        return _ERRORS[kind](message)
    if resp.status_code in (401, 403):
        return KitaruBackendError(f"not allowed by the Kitaru server: {message}; check `kitaru login` / your API key")
    return KitaruBackendError(f"the Kitaru server answered {resp.status_code}: {message}")
