"""fake-gcs-server and a Google token-endpoint fake on loopback for the session; a fresh Kitaru home
and a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from gcs_helpers import admin_client, start_fake_gcs
from google_fake import GoogleFake


@pytest.fixture(scope="session")
def gcs_url() -> Iterator[str]:
    """The endpoint of a fake-gcs-server (in-memory backend) on 127.0.0.1 for the whole session."""
    proc, url = start_fake_gcs()
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except Exception:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def google() -> Iterator[GoogleFake]:
    """Google's OAuth2, STS and IAM Credentials endpoints, faked on loopback."""
    with GoogleFake() as fake:
        yield fake


@pytest.fixture(scope="session")
def server_key(google: GoogleFake) -> str:
    """The server's own identity: a service-account key whose tokens come from the fake."""
    return google.service_account_key()


@pytest.fixture
def bucket(gcs_url: str) -> str:
    """A fresh bucket per test."""
    name = f"kitaru-{uuid.uuid4().hex[:12]}"
    admin_client(gcs_url).create_bucket(name)
    return name


@pytest.fixture(autouse=True)
def kitaru_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh KITARU_HOME per test (kitaru.testing.isolated_home); no ambient Google identity."""
    from kitaru.testing import isolated_home

    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))  # no gcloud user credentials either
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # google-auth: do not probe the metadata server
    google = ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT")
    with isolated_home(tmp_path, monkeypatch, unset=google) as home:
        yield home
