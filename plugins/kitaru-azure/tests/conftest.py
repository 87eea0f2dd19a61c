"""Azurite (the Azure Storage emulator, npm `azurite@3.35`) on loopback for the session, a fresh container per
test, and a fresh Kitaru home per test. Azurite enforces SAS permissions, expiry and signatures."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure_helpers import ACCOUNT, KEY, Azurite, service

from kitaru.testing import LocalServer, free_port

REPO = Path(__file__).resolve().parents[3]
CACHED = REPO / ".ci" / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
INSTALL = ("npm install --prefix .ci/.cache/azurite azurite@3.35  (see the azurite block in scripts/test.sh;"
           " or set AZURITE_BLOB to an azurite-blob executable)")


def _azurite_binary() -> str:
    """AZURITE_BLOB, else the copy scripts/test.sh installs, else azurite-blob on PATH; a clear failure if none."""
    for candidate in (os.environ.get("AZURITE_BLOB"), str(CACHED), shutil.which("azurite-blob")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"Azurite is not installed; the kitaru-azure tests need it: {INSTALL}", pytrace=False)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite blob service on 127.0.0.1 (in memory, plain HTTP) for the whole session."""
    yield from _run_azurite(tmp_path_factory.mktemp("azurite"), "http")


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite over HTTPS (a throwaway self-signed certificate) accepting Azure AD bearer tokens (`--oauth basic`:
    issuer, audience and expiry are checked, the token signature is not)."""
    from azure_helpers import self_signed_cert

    workdir = tmp_path_factory.mktemp("azurite-oauth")
    cert, key = self_signed_cert(workdir)
    yield from _run_azurite(workdir, "https", "--oauth", "basic", "--cert", str(cert), "--key", str(key))


def _run_azurite(workdir: Path, scheme: str, *extra: str) -> Iterator[Azurite]:
    port = free_port()
    log = open(workdir / "azurite.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([_azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port),
                             "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent",
                             *extra], cwd=workdir, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"azurite exited: {(workdir / 'azurite.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("azurite did not start within 30 s") from None
                time.sleep(0.05)
        yield Azurite(f"{scheme}://127.0.0.1:{port}/{ACCOUNT}", ACCOUNT, KEY, str(workdir / "cert.pem"))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def container(azurite: Azurite) -> str:
    """A fresh container per test."""
    name = f"kitaru-{uuid.uuid4().hex[:12]}"
    service(azurite).create_container(name)
    return name


@pytest.fixture
def server(tmp_path: Path, azurite: Azurite) -> Iterator[LocalServer]:
    """A Kitaru server whose own (ambient) identity is the account key; nobody else has any Azure identity."""
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    with LocalServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-home", env=env) as srv:
        yield srv


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KITARU_HOME per test (kitaru.testing.isolated_home); no ambient Azure identity."""
    from kitaru.testing import isolated_home

    with isolated_home(tmp_path, monkeypatch, unset=[v for v in os.environ if v.startswith("AZURE_")]) as home:
        yield home
