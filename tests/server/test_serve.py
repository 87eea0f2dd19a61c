"""`python -m kitaru.server --port 0`: the server binds a port the system picks before it announces it, so
whoever reads the announcement (LocalServer, a supervisor) gets a port that is already this server's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kitaru.errors import KitaruUsageError
from kitaru.server._serve import serve
from kitaru.testing import LocalServer
from tests.support import http


def test_servers_on_port_0_announce_the_port_they_already_listen_on(tmp_path: Path) -> None:
    servers = [LocalServer(f"sqlite:///{tmp_path / f'{i}.db'}", tmp_path / f"home{i}") for i in range(3)]
    try:
        for server in servers:
            server.start()
        ports = [server.port for server in servers]
        assert all(ports) and len(set(ports)) == 3
        for server in servers:
            announced = re.findall(r"Kitaru server on http://127\.0\.0\.1:(\d+)", server.log.read_text())
            assert announced == [str(server.port)]
            me = http.post(f"{server.url}/api/v1/auth/token", json={"api_key": server.admin_key}, timeout=10)
            assert me.status_code == 200, me.text  # this server, not another one on a reused port
        restarted = servers[0]
        port = restarted.port
        restarted.kill()
        restarted.start()  # a restart keeps its port: clients keep their URL
        assert restarted.port == port and http.get(f"{restarted.url}/ready", timeout=10).status_code == 200
    finally:
        for server in servers:
            server.kill()


def test_port_0_with_several_workers_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(KitaruUsageError, match="--port 0"):
        serve(port=0, workers=2, database_url=f"sqlite:///{tmp_path / 'x.db'}")


def test_a_start_that_fails_for_any_reason_leaves_no_server_running(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    server = LocalServer(f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "home")

    def broken(offset: int) -> int:
        raise KeyboardInterrupt  # what a Ctrl-C (or a bug in the wait) looks like to start()

    monkeypatch.setattr(server, "_announced_port", broken)
    with pytest.raises(KeyboardInterrupt):
        server.start()
    assert server.proc is not None and server.proc.poll() is not None, "the server outlived its failed start"
