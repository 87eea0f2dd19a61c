"""HTTP plumbing of the remote state service: bearer tokens, bounded retries with backoff, error mapping."""

from __future__ import annotations

import http.client
import json as jsonlib
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from kitaru.errors import KitaruBackendError, KitaruStateError, KitaruUsageError, KitaruWaitValidationError
from kitaru.store.service import CancelRequested, LeaseLost

API = "/api/v1"
_RETRY_STATUS = frozenset({502, 503, 504})
_ERRORS: dict[str, type[Exception]] = {
    "LeaseLost": LeaseLost, "CancelRequested": CancelRequested, "KitaruStateError": KitaruStateError,
    "KitaruUsageError": KitaruUsageError, "KitaruWaitValidationError": KitaruWaitValidationError,
    "ValidationError": KitaruUsageError, "InvalidValue": KitaruUsageError, "PayloadTooLarge": KitaruUsageError,
}


class Duplicate(KitaruStateError):
    """The server already holds a record with this key (409 Duplicate)."""


class NotFound(KitaruStateError):
    """The server answered 404."""


class Transport:
    """HTTP/1.1 keep-alive connections (one per thread, stdlib http.client) to a Kitaru server."""

    def __init__(self, url: str, *, token: str | None = None, api_key: str | None = None,
                 retry_seconds: float | None = None, timeout: float | None = None,
                 verify_ssl: bool = True, ssl_ca_cert: str | None = None) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise KitaruUsageError(f"invalid server URL {url!r}; expected http(s)://host[:port]")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._base = parts.path.rstrip("/")
        self._local = threading.local()
        from kitaru.config._tunables import tunables

        knobs = tunables()
        self.timeout = timeout if timeout is not None else knobs.client_timeout
        self.verify_ssl, self.ssl_ca_cert = verify_ssl, ssl_ca_cert or knobs.ssl_ca_cert
        self.proxy = urlsplit(knobs.server_proxy) if knobs.server_proxy else None
        if self.proxy is not None and (self.proxy.scheme != "http" or not self.proxy.hostname):
            raise KitaruUsageError(f"KITARU_SERVER_PROXY={knobs.server_proxy!r} is not an http://host:port proxy URL")
        self._proxy_at: tuple[str, int] | None = (
            (self.proxy.hostname, self.proxy.port or 80) if self.proxy is not None and self.proxy.hostname else None)
        self.api_key = api_key
        self._token = token
        self._token_lock = threading.Lock()
        self._refreshable = True
        self.retry_seconds = retry_seconds if retry_seconds is not None else knobs.client_retry_seconds

    # ------------------------------------------------------------------ tokens
    def _exchange(self) -> str:
        resp = self._send_retrying("POST", f"{API}/auth/token", {"json": {"api_key": self.api_key}})
        if resp.status_code != 200:
            raise KitaruBackendError(f"the server at {self.url} rejected the API key ({_message(resp)});"
                                     " create one with `kitaru auth api-keys create` and `kitaru login`")
        return str(resp.json()["access_token"])

    def token(self, *, renew: bool = False) -> str | None:
        """A valid bearer token: exchanged from the API key, or refreshed when a runtime token nears expiry."""
        from kitaru.auth import peek_expiry

        with self._token_lock:
            exp = peek_expiry(self._token) if self._token else None
            remaining = exp - time.time() if exp is not None else None
            if self.api_key and (renew or remaining is None or remaining < 120):
                self._token = self._exchange()
            elif not self.api_key and self._token and self._refreshable and remaining is not None and remaining < 900:
                resp = self._send_retrying("POST", f"{API}/auth/refresh", {"headers": self._auth(self._token)})
                if resp.status_code == 200:
                    self._token = str(resp.json()["access_token"])
                else:
                    self._refreshable = False  # not a runtime token (or its execution ended): use it until it expires
            return self._token

    @staticmethod
    def _auth(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    # ---------------------------------------------------------------- requests
    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            host, port = self._proxy_at or (self._host, self._port)
            if self._scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._tls_context())
                if self.proxy is not None:  # CONNECT through the proxy; TLS with the server end to end
                    conn.set_tunnel(self._host, self._port or 443, headers=self._proxy_auth())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _proxy_auth(self) -> dict[str, str]:
        """Basic credentials for the proxy, if its URL carries them."""
        if self.proxy is None or not self.proxy.username:
            return {}
        import base64
        from urllib.parse import unquote

        pair = f"{unquote(self.proxy.username)}:{unquote(self.proxy.password or '')}".encode()
        return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _tls_context(self) -> Any:
        """Certificate checks as the login asked: a CA bundle (`ssl_ca_cert`), or none (`no_verify_ssl`)."""
        import ssl

        if not self.verify_ssl:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return ssl.create_default_context(cafile=self.ssl_ca_cert) if self.ssl_ca_cert else ssl.create_default_context()

    def _send_once(self, method: str, path: str, kwargs: dict[str, Any]) -> Response:
        params = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}
        target = self._base + path + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": "application/json", **(kwargs.get("headers") or {})}
        if self.proxy is not None and self._scheme == "http":  # a plain-HTTP proxy takes the absolute URL
            target = f"http://{self._host}{f':{self._port}' if self._port else ''}{target}"
            headers.update(self._proxy_auth())
        body = None
        if "json" in kwargs:
            body = jsonlib.dumps(kwargs["json"], separators=(",", ":"), default=str).encode()
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, target, body=body, headers=headers)
            raw = conn.getresponse()
            resp = Response(raw.status, raw.read())
        except BaseException:
            conn.close()
            self._local.conn = None
            raise
        if raw.will_close:
            conn.close()
            self._local.conn = None
        return resp

    def _send_retrying(self, method: str, path: str, kwargs: dict[str, Any], retried: list[bool] | None = None
                       ) -> Response:
        deadline, delay, last, failures = time.monotonic() + self.retry_seconds, 0.05, "", 0
        while True:
            try:
                resp = self._send_once(method, path, kwargs)
                if resp.status_code not in _RETRY_STATUS:
                    return resp
                last = f"HTTP {resp.status_code}"
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                last = f"{type(exc).__name__}: {exc}"
            failures += 1
            if retried is not None:
                retried.append(True)
            if failures == 1 and "Disconnected" in last:
                continue  # a kept-alive connection the server had closed: reconnect at once
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
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class Response:
    """A finished HTTP response: status and body."""

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code, self.content = status_code, content

    def json(self) -> Any:
        """The decoded JSON body."""
        return jsonlib.loads(self.content)


def _message(resp: Response) -> str:
    try:
        return str(resp.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):  # not our error body
        return f"HTTP {resp.status_code}"


def _error(resp: Response, retried: bool) -> Exception:
    try:
        kind = str(resp.json()["error"]["type"])
    except (ValueError, KeyError, TypeError):  # not our error body
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
    if resp.status_code == 401:
        return KitaruBackendError(f"the Kitaru server rejected the credentials: {message}; run `kitaru login URL"
                                  " --api-key KEY` again")
    if resp.status_code == 403:
        return KitaruBackendError(f"not allowed by the Kitaru server: {message}")
    return KitaruBackendError(f"the Kitaru server answered {resp.status_code}: {message}")
