"""The azure artifact store passes the shared conformance suite on Azurite (and the ACR registry its own)."""

from __future__ import annotations

from typing import Any

import pytest
from azure_helpers import Azurite, blob_names, make_store, service
from kitaru_azure._store import AzureArtifactStore

from kitaru.errors import KitaruBackendError
from kitaru.testing import ArtifactStoreConformance


class TestAzureArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def store(self, azurite: Azurite, container: str) -> AzureArtifactStore:
        return make_store(azurite, container)


class TestAzureArtifactStoreWithoutPrefix(ArtifactStoreConformance):
    stream_size = 16 << 20

    @pytest.fixture
    def store(self, azurite: Azurite, container: str) -> AzureArtifactStore:
        return make_store(azurite, container, path=f"az://{container}", block_size=4 << 20,
                          single_put_threshold=1 << 20)


def _blocks(az: Azurite, container: str, name: str) -> tuple[int, int]:
    committed, uncommitted = service(az).get_blob_client(container, name).get_block_list("all")
    return len(committed), len(uncommitted)


def test_large_writes_stage_blocks_and_small_ones_a_single_put(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)
    store.write("small", b"x" * 1024)
    assert _blocks(azurite, container, "kitaru/small") == (0, 0)  # Put Blob: no block list
    store.write("big", memoryview(b"y" * (20 << 20)))
    assert _blocks(azurite, container, "kitaru/big") == (3, 0)  # 8 + 8 + 4 MiB, committed together
    props = service(azurite).get_blob_client(container, "kitaru/big").get_blob_properties()
    assert props.size == 20 << 20 and props.blob_type == "BlockBlob"


def test_a_failed_stream_commits_nothing(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)

    def broken():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"z" * (1 << 20)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.write("partial", broken())
    assert blob_names(azurite, container) == set()
    assert _blocks(azurite, container, "kitaru/partial") == (0, 2)  # staged, invisible; Azure drops them in 7 days
    assert not store.exists("partial")


def test_content_addressed_blobs_are_created_once(azurite: Azurite, container: str) -> None:
    """`blobs/...` keys are written with If-None-Match: * : a second writer of the same key changes nothing."""
    store = make_store(azurite, container)
    key = "blobs/sha256/ab/abcdef"
    store.write(key, b"first")
    blob = service(azurite).get_blob_client(container, f"kitaru/{key}")
    etag = blob.get_blob_properties().etag
    store.write(key, b"first")  # small: Put Blob refused with 409, treated as done
    store.write(key, iter([b"f" * (9 << 20)]))  # large: Put Block List refused with 409, treated as done
    assert blob.get_blob_properties().etag == etag
    store.write("plain", b"one")
    store.write("plain", b"two")  # other keys are replaced
    with store.open("plain") as f:
        assert f.read() == b"two"


class _Flaky:
    """A blob client whose next `fail` ranged GETs raise `error` (a dropped connection) before reaching the server."""

    def __init__(self, blob: Any, error: Exception, fail: int = 1) -> None:
        self._blob, self._error, self.fail, self.calls = blob, error, fail, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._blob, name)

    def download_blob(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.fail:
            self.fail -= 1
            raise self._error
        return self._blob.download_blob(**kwargs)


def test_read_resumes_after_a_dropped_connection_pinned_to_the_etag(azurite: Azurite, container: str) -> None:
    from azure.core.exceptions import ServiceResponseError

    store = make_store(azurite, container, read_chunk_size=256 << 10)
    payload = bytes(range(256)) * 4096 * 2  # 2 MiB: eight ranged GETs
    store.write("obj", payload)
    reader = store.open("obj")
    first = reader.read(300_000)
    flaky = reader._blob = _Flaky(reader._blob, ServiceResponseError("connection reset"), fail=2)  # type: ignore[attr-defined]
    rest = reader.read()
    assert first + rest == payload and flaky.calls == 2 + 7  # two failed attempts, then the seven remaining ranges

    # a blob replaced while being read: the next range request is refused (ETag), never mixed
    reader = store.open("obj")
    head = reader.read(300_000)
    store.write("obj", b"replaced" * 100_000)
    with pytest.raises(KitaruBackendError, match="replaced while it was being read"):
        reader.read()
    assert head == payload[:len(head)] and len(head) == 256 << 10  # a raw read returns one chunk at most


def test_ambient_identity_and_endpoint_from_root(azurite: Azurite, container: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.plugins import get_plugin_manager

    make_store(azurite, container).write("blobs/x", b"hello")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    flavor = get_plugin_manager().store_flavor_for_scheme("az")
    assert flavor is not None and flavor.from_root is not None
    store = flavor.from_root(f"az://{container}/kitaru")
    assert store.root == f"az://{container}/kitaru"
    with store.open("blobs/x") as f:
        assert f.read() == b"hello"


def test_config_validation() -> None:
    from kitaru_azure._config import AzureArtifactStoreConfig
    from pydantic import ValidationError

    for bad in ({"path": "s3://b/p"}, {"path": "az://Bad_Container/p"}, {"path": "az://ab/p"},
                {"path": "az://my--box/p"}, {"path": "az://box/a/*/b"}, {"path": "az://box/../x"},
                {"path": "az://box/p", "account_url": "http://storage.example.com"},
                {"path": "az://box/p", "account_name": "Not_Valid"},
                {"path": "abfss://box@acct1.blob.core.windows.net/p"},
                {"path": "abfss://box@acct1.dfs.core.windows.net/p", "account_name": "other1"},
                {"path": "az://box/p", "block_size": 1000}):
        with pytest.raises(ValidationError):
            AzureArtifactStoreConfig(**bad)
    assert AzureArtifactStoreConfig(path="az://box/a/b/").path == "az://box/a/b"
    abfs = AzureArtifactStoreConfig(path="abfss://box@acct1.dfs.core.windows.net/team/kitaru")
    assert (abfs.path, abfs.account_name) == ("az://box/team/kitaru", "acct1")
    ok = AzureArtifactStoreConfig(path="az://box/p", account_url="http://localhost:10000/devstoreaccount1")
    assert ok.account_url == "http://localhost:10000/devstoreaccount1"


def test_unknown_account_is_a_clear_error() -> None:
    from kitaru_azure._config import AzureArtifactStoreConfig

    from kitaru.errors import KitaruUsageError

    with pytest.raises(KitaruUsageError, match="account_name"):
        AzureArtifactStore(AzureArtifactStoreConfig(path="az://box/p"))


def test_backend_errors_are_kitaru_errors(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)
    with pytest.raises(KitaruBackendError, match="missing"):
        store.open("nope")
    assert isinstance(store.exists("nope"), bool)
    _: Any = None
