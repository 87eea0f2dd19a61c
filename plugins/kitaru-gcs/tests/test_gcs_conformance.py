"""The gcs artifact store passes the shared conformance suite on fake-gcs-server (and the registry its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from gcs_helpers import admin_client, make_store, names
from google_fake import GoogleFake
from kitaru_gcs._config import GCPRegistryConfig, GCSArtifactStoreConfig
from kitaru_gcs._registry import ArtifactRegistry
from kitaru_gcs._store import GCSArtifactStore

from kitaru.errors import KitaruBackendError
from kitaru.testing import ArtifactStoreConformance, ContainerRegistryConformance


class TestGCSArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def store(self, gcs_url: str, bucket: str, server_key: str, google: GoogleFake) -> GCSArtifactStore:
        return make_store(gcs_url, bucket, key=server_key, sts=f"{google.url}/v1/token")


class TestGCSArtifactStoreWithoutPrefix(ArtifactStoreConformance):
    stream_size = 16 << 20

    @pytest.fixture
    def store(self, gcs_url: str, bucket: str, server_key: str, google: GoogleFake) -> GCSArtifactStore:
        return make_store(gcs_url, bucket, key=server_key, sts=f"{google.url}/v1/token", path=f"gs://{bucket}",
                          chunk_size=1 << 20, resumable_threshold=1 << 20)


def _requests(store: GCSArtifactStore) -> list[str]:
    """Record (method, path-kind) of every HTTP request the store's session sends."""
    _, session = store._conn("write")
    seen: list[str] = []
    real = session.request

    def spy(method: str, url: str, *a: Any, **k: Any) -> Any:
        params = k.get("params") or {}
        upload = "uploadType=resumable" in url or params.get("uploadType") == "resumable"
        seen.append(f"{method} {'resumable' if upload else 'x'}")
        return real(method, url, *a, **k)

    session.request = spy
    return seen


def test_small_writes_are_one_request_and_large_ones_a_chunked_resumable_upload(gcs_url: str, bucket: str) -> None:
    store = make_store(gcs_url, bucket, chunk_size=1 << 20, resumable_threshold=2 << 20)
    seen = _requests(store)
    store.write("small", b"x" * 1024)
    assert seen == ["POST x"]
    seen.clear()
    store.write("big", iter([b"y" * (1 << 20)] * 5))
    # initiate, 5 chunks of 1 MiB, and (the length being unknown until the stream ends) a finalizing empty chunk
    assert seen == ["POST resumable"] + ["PUT resumable"] * 6, seen
    assert admin_client(gcs_url).bucket(bucket).get_blob("kitaru/big").size == 5 << 20


def test_content_addressed_blobs_are_created_once(gcs_url: str, bucket: str) -> None:
    store = make_store(gcs_url, bucket, chunk_size=1 << 20, resumable_threshold=1 << 20)
    key = "blobs/sha256/ab/abcdef"
    store.write(key, b"first")
    generation = admin_client(gcs_url).bucket(bucket).get_blob(f"kitaru/{key}").generation
    store.write(key, b"first")  # a second writer of the same content: 412, not an error, object untouched
    blob = admin_client(gcs_url).bucket(bucket).get_blob(f"kitaru/{key}")
    assert blob.generation == generation and blob.download_as_bytes() == b"first"
    # streamed: the resumable session is opened with the same precondition (fake-gcs-server does not enforce it
    # on resumable uploads, GCS does), and a 412 from GCS is not an error either
    _, session = store._conn("write")
    real, urls = session.request, []
    session.request = lambda method, url, *a, **k: (urls.append(url), real(method, url, *a, **k))[1]
    store.write(key + "2", iter([b"z" * (1 << 20)] * 3))
    assert "uploadType=resumable" in urls[0] and "ifGenerationMatch=0" in urls[0]
    urls.clear()
    store.write("other", iter([b"z" * (1 << 20)] * 3))
    assert "ifGenerationMatch" not in urls[0]
    store.write("manifest", b"one")  # other keys overwrite (the protocol's `write` semantics)
    store.write("manifest", b"two")
    assert store.open("manifest").read() == b"two"


def test_failed_streamed_upload_is_cancelled_and_invisible(gcs_url: str, bucket: str) -> None:
    store = make_store(gcs_url, bucket, chunk_size=1 << 20, resumable_threshold=1 << 20)
    seen = _requests(store)

    def broken():  # type: ignore[no-untyped-def]
        for _ in range(4):
            yield b"z" * (1 << 20)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.write("partial", broken())
    assert seen[0] == "POST resumable" and seen[-1] == "DELETE resumable", seen  # the resumable session was cancelled
    assert names(gcs_url, bucket) == set()


def test_read_resumes_after_a_dropped_connection_pinned_to_the_generation(gcs_url: str, bucket: str) -> None:
    from urllib3.exceptions import ProtocolError

    store = make_store(gcs_url, bucket)
    payload = bytes(range(256)) * 4096
    store.write("obj", payload)
    reader = store.open("obj")
    first = reader.read(1000)
    generation = reader.generation  # type: ignore[attr-defined]
    assert generation
    real = reader._resp  # type: ignore[attr-defined]
    ranges: list[tuple[int, str | None]] = []
    reopen = reader._reopen_at  # type: ignore[attr-defined]

    def spy(start: int, gen: str | None) -> Any:
        ranges.append((start, gen))
        return reopen(start, gen)

    class Flaky:
        class raw:
            @staticmethod
            def read(n: int) -> bytes:
                raise ProtocolError("connection reset")

        close = real.close

    reader._resp, reader._reopen_at = Flaky(), spy  # type: ignore[attr-defined]
    assert first + reader.read() == payload
    assert ranges == [(1000, generation)]
    # the object was replaced in between: the pinned re-read fails instead of mixing two versions
    reader2 = store.open("obj")
    reader2.read(10)
    store.write("obj", b"replaced")
    reader2._resp = Flaky()  # type: ignore[attr-defined]
    with pytest.raises(KitaruBackendError, match="replaced while being read"):
        reader2.read()


def test_429_and_5xx_are_retried_with_backoff(gcs_url: str, bucket: str) -> None:
    """A proxy in front of the emulator answers 503 then 429 before letting requests through."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import requests

    failures = [503, 429, 503, 429]
    hits: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(self.command)
            if failures:
                code = failures.pop(0)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            r = requests.request(self.command, gcs_url + self.path, data=body, headers=headers)
            self.send_response(r.status_code)
            for k, v in r.headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        store = make_store(f"http://127.0.0.1:{proxy.server_address[1]}", bucket, retry_deadline=30)
        store.write("retried", b"payload")  # 503, 429, then through
        assert hits[:3] == ["POST", "POST", "POST"]
        with store.open("retried") as f:  # 503, 429, then through
            assert f.read() == b"payload"
        assert not failures
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_ambient_identity_and_endpoint_from_root(gcs_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.plugins import get_plugin_manager

    make_store(gcs_url, bucket).write("blobs/x", b"hello")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_url)
    flavor = get_plugin_manager().store_flavor_for_scheme("gs")
    assert flavor is not None and flavor.from_root is not None
    store = flavor.from_root(f"gs://{bucket}/kitaru")
    assert store.root == f"gs://{bucket}/kitaru"
    with store.open("blobs/x") as f:
        assert f.read() == b"hello"


def test_config_validation() -> None:
    from pydantic import ValidationError

    for bad in ("s3://b/p", "gs://B_ad/p", "gs://bucket/a/*/b", "gs://bucket/../x", "gs://bucket/it's",
                "gs://goog-bucket/x"):
        with pytest.raises(ValidationError):
            GCSArtifactStoreConfig(path=bad)
    with pytest.raises(ValidationError, match="multiple of 256 KiB"):
        GCSArtifactStoreConfig(path="gs://bucket/p", chunk_size=1000 * 1000)
    assert GCSArtifactStoreConfig(path="gs://bucket/a/b/").path == "gs://bucket/a/b"


class TestArtifactRegistry(ContainerRegistryConformance):
    @pytest.fixture
    def registry(self, server_key: str) -> ArtifactRegistry:
        return ArtifactRegistry(GCPRegistryConfig(uri="europe-west1-docker.pkg.dev/test-project/agents",
                                                  service_account_key=server_key))

    def test_docker_login_is_an_oauth_access_token(self, registry: ArtifactRegistry, google: GoogleFake) -> None:
        creds = registry.credentials("push")
        assert (creds.registry, creds.username) == ("europe-west1-docker.pkg.dev", "oauth2accesstoken")
        assert creds.password in google.issued and creds.expires_at is not None
        assert creds.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)
        assert registry.image_uri("agent", "1.0") == "europe-west1-docker.pkg.dev/test-project/agents/agent:1.0"
        minted = registry.mint_credentials("", access="read")
        assert minted.flavor == "gcp" and minted.values["username"] == "oauth2accesstoken"


def test_registry_pull_and_push_tokens_impersonate_narrower_service_accounts(server_key: str,
                                                                             google: GoogleFake) -> None:
    registry = ArtifactRegistry(GCPRegistryConfig(
        uri="us-docker.pkg.dev/test-project/agents", service_account_key=server_key, token_lifetime=900,
        reader_service_account="puller@test-project.iam.gserviceaccount.com",
        writer_service_account="pusher@test-project.iam.gserviceaccount.com", iam_endpoint_url=google.url))
    pull, push = registry.credentials("pull"), registry.credentials("push")
    assert pull.password.startswith("impersonated-token-") and push.password.startswith("impersonated-token-")
    (p1, r1), (p2, _) = google.iam_requests[-2:]
    assert p1 == "/v1/projects/-/serviceAccounts/puller@test-project.iam.gserviceaccount.com:generateAccessToken"
    assert p2 == "/v1/projects/-/serviceAccounts/pusher@test-project.iam.gserviceaccount.com:generateAccessToken"
    assert r1["lifetime"] == "900s" and r1["authorization"].startswith("Bearer server-own-token-")
    assert pull.expires_at is not None and pull.expires_at <= datetime.now(UTC) + timedelta(seconds=900)


def test_registry_config_validation() -> None:
    from pydantic import ValidationError

    for bad in ("docker.io/library/python", "gcr.io/project/x", "europe-west1-docker.pkg.dev/project"):
        with pytest.raises(ValidationError):
            GCPRegistryConfig(uri=bad)
    assert GCPRegistryConfig(uri="https://europe-west1-docker.pkg.dev/my-project/repo/").uri == \
        "europe-west1-docker.pkg.dev/my-project/repo"


def test_imports_stay_lazy() -> None:
    """`import kitaru` loads no plugin; importing the plugin (discovery) loads no Google SDK."""
    import subprocess
    import sys

    # the bare `google` / `google.cloud` namespaces may be pre-imported by another distribution's *-nspkg.pth
    # (google-cloud-aiplatform ships one); what must not load is an SDK module under them
    code = ("import sys, kitaru, kitaru.stacks; a = [m for m in ('kitaru_gcs', 'google.cloud.storage') if m in"
            " sys.modules]; import kitaru_gcs; b = [m for m in sys.modules if m.startswith('google')"
            " and m not in ('google', 'google.cloud')]; print(a, b); sys.exit(1 if a or b else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
