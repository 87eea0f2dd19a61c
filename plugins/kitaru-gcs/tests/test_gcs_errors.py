"""A missing bucket, a permission error and an unreachable endpoint are clear errors, and leave nothing
half-written visible."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from boundary_proxy import BoundaryProxy
from gcs_helpers import free_port, make_store, names
from google_fake import GoogleFake
from kitaru_gcs._config import GCSArtifactStoreConfig
from kitaru_gcs._store import GCSArtifactStore

from kitaru.errors import KitaruBackendError

MB = 1 << 20


def _stream(n: int) -> Iterator[bytes]:
    for _ in range(n):
        yield b"q" * MB


def test_missing_bucket(gcs_url: str) -> None:
    store = make_store(gcs_url, "no-such-bucket-kitaru", chunk_size=MB, resumable_threshold=MB)
    for data in (b"small", _stream(3)):
        with pytest.raises(KitaruBackendError, match="bucket 'no-such-bucket-kitaru' does not exist.*gcloud storage"):
            store.write("blobs/x", data)
    with pytest.raises(KitaruBackendError, match="missing from gs://no-such-bucket-kitaru/kitaru"):
        store.open("blobs/x")
    with pytest.raises(KitaruBackendError, match="does not exist"):
        list(store.list())


def test_permission_denied_is_clear_and_writes_nothing(gcs_url: str, bucket: str, google: GoogleFake,
                                                       server_key: str) -> None:
    """A store brokered read-only tokens (or tokens for another prefix) is refused by GCS; nothing lands."""
    minting = make_store(gcs_url, bucket, key=server_key, sts=f"{google.url}/v1/token")
    with BoundaryProxy(gcs_url, google) as proxy:
        cfg = GCSArtifactStoreConfig(path=f"gs://{bucket}/kitaru", endpoint_url=proxy.url, chunk_size=MB,
                                     resumable_threshold=MB, retry_deadline=5)
        reader_only = GCSArtifactStore(cfg, broker=lambda access: minting.mint_credentials("", access="read"))
        for data in (b"small", _stream(3)):
            with pytest.raises(KitaruBackendError, match="denied: cannot write .*roles/storage.objectCreator"):
                reader_only.write("blobs/sha256/aa/x", data)
        other = make_store(gcs_url, bucket, key=server_key, sts=f"{google.url}/v1/token",
                           path=f"gs://{bucket}/kitaru-prod")
        minting.write("blobs/y", b"mine")
        wrong_prefix = GCSArtifactStore(cfg.model_copy(update={"path": f"gs://{bucket}/kitaru"}),
                                        broker=lambda access: other.mint_credentials("", access=access))
        with pytest.raises(KitaruBackendError, match="permission denied: cannot read"):
            wrong_prefix.open("blobs/y")
        with pytest.raises(KitaruBackendError, match="permission denied"):
            wrong_prefix.write("blobs/z", _stream(2))
    assert names(gcs_url, bucket) == {"kitaru/blobs/y"}


def test_unreachable_endpoint_fails_fast_and_clearly() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    store = GCSArtifactStore(GCSArtifactStoreConfig(path="gs://bucket/kitaru", endpoint_url=dead, anonymous=True,
                                                    retry_deadline=0.5, chunk_size=MB, resumable_threshold=MB))
    for op in (lambda: store.write("blobs/x", b"x"), lambda: store.write("blobs/x", _stream(2)),
               lambda: store.open("blobs/x"), lambda: store.exists("blobs/x"), lambda: list(store.list())):
        started = time.monotonic()
        with pytest.raises(KitaruBackendError, match="the GCS endpoint did not answer.*endpoint_url"):
            op()
        assert time.monotonic() - started < 15  # retried with backoff until retry_deadline, then given up


class _FlakyUpstream:
    """A proxy to the emulator that answers 503 to the upload-chunk PUTs numbered in `fail`."""

    def __init__(self, gcs_url: str, fail: set[int] | None = None, fail_after: int | None = None) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import requests

        self.puts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "PUT":
                    outer.puts += 1
                    if outer.puts in (fail or set()) or (fail_after is not None and outer.puts > fail_after):
                        self.send_response(503)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                r = requests.request(self.command, gcs_url + self.path, data=body, headers=headers)
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    if k.lower() == "location":
                        v = v.replace(gcs_url, outer.url)
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._srv.server_address[1]}"
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._srv.shutdown()
        self._srv.server_close()


def test_a_failed_chunk_is_retried_and_the_upload_resumes(gcs_url: str, bucket: str) -> None:
    flaky = _FlakyUpstream(gcs_url, fail={2, 4})
    try:
        store = make_store(flaky.url, bucket, chunk_size=MB, resumable_threshold=MB, retry_deadline=30)
        store.write("blobs/sha256/cc/resumed", (bytes([i]) * MB for i in range(5)))
    finally:
        flaky.close()
    with make_store(gcs_url, bucket).open("blobs/sha256/cc/resumed") as f:
        assert f.read() == b"".join(bytes([i]) * MB for i in range(5))
    assert flaky.puts >= 5 + 2


def test_failed_stream_mid_upload_leaves_nothing(gcs_url: str, bucket: str) -> None:
    """The endpoint dies half-way through a resumable upload: the error is clear, the object never appears."""
    flaky = _FlakyUpstream(gcs_url, fail_after=2)  # after two chunks the "network" only answers 503
    try:
        store = make_store(flaky.url, bucket, chunk_size=MB, resumable_threshold=MB, retry_deadline=3)
        with pytest.raises(KitaruBackendError, match="did not answer|could not write"):
            store.write("blobs/sha256/bb/half", _stream(6))
    finally:
        flaky.close()
    assert names(gcs_url, bucket) == set()
