"""The server client goes through KITARU_SERVER_PROXY: a real forwarding HTTP proxy on loopback sees every
request (absolute URLs, its credentials) and the client works through it as directly."""

from __future__ import annotations

import http.client
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kitaru.testing import LocalServer


class _Proxy(http.server.ThreadingHTTPServer):
    seen: list[tuple[str, str, str | None]]


class _Forward(http.server.BaseHTTPRequestHandler):
    """A plain-HTTP forward proxy: takes absolute-URL requests and relays them to the origin."""

    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization")))  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "connection")}
        origin = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        origin.request(self.command, url.path + (f"?{url.query}" if url.query else ""), body=body or None,
                       headers=headers)
        resp = origin.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        origin.close()

    do_GET = do_POST = do_PUT = do_DELETE = _relay

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy(("127.0.0.1", 0), _Forward)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_server_client_goes_through_the_proxy(tmp_path: Path, proxy: _Proxy,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.store._remote import RemoteStateService

    with LocalServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "home") as server:
        monkeypatch.setenv("KITARU_SERVER_PROXY", f"http://user:s%40cret@127.0.0.1:{proxy.server_port}")
        state = RemoteStateService(server.url, api_key=server.admin_key)
        assert state.list_executions(limit=5) == []
        paths = [path for _, path, _ in proxy.seen]
        assert any(p.startswith(f"{server.url}/api/v1/auth/token") for p in paths), paths
        assert any(p.startswith(f"{server.url}/api/v1/executions") for p in paths), paths
        assert {auth for _, _, auth in proxy.seen} == {"Basic dXNlcjpzQGNyZXQ="}  # user:s@cret


def test_a_proxy_url_that_is_not_http_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.errors import KitaruUsageError
    from kitaru.store._remote import RemoteStateService

    monkeypatch.setenv("KITARU_SERVER_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(KitaruUsageError, match="KITARU_SERVER_PROXY"):
        RemoteStateService("http://127.0.0.1:1", api_key="kit_x")
