"""Conformance suite every artifact store flavor runs: subclass it and provide a `store` fixture."""

from __future__ import annotations

import hashlib
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kitaru.artifacts import ArtifactStore, Credentials
from kitaru.errors import KitaruBackendError, KitaruUsageError

MB = 1 << 20


def _read_all(store: Any, key: str) -> bytes:
    with store.open(key) as f:
        parts = []
        while chunk := f.read(MB):
            parts.append(chunk)
    return b"".join(parts)


class ArtifactStoreConformance:
    """`class TestMine(ArtifactStoreConformance): @pytest.fixture def store(self): return MyStore(...)`."""

    stream_peak_limit = 48 * MB
    stream_size = 2 * stream_peak_limit  # a store that buffered the object would need at least this much memory
    atomic_size = 12 * MB
    max_ttl = 3600
    mint_ttl = 900
    mint_scope = "runs/r1"

    @pytest.fixture
    def store(self) -> Any:
        """A fresh, empty store (override in the subclass)."""
        raise NotImplementedError("override the `store` fixture")

    @pytest.fixture
    def key(self) -> str:
        """A unique key prefix per test, so a shared bucket/dir does not leak between tests."""
        return f"conformance/{uuid.uuid4().hex[:12]}"

    # ------------------------------------------------------------------ basics
    def test_satisfies_protocol(self, store: Any) -> None:
        assert isinstance(store, ArtifactStore)
        assert isinstance(store.flavor, str) and store.flavor
        assert "://" in store.root, "root must be a URI (file://..., s3://bucket/prefix) so clients can reopen it"

    def test_roundtrip_bytes_and_iterables(self, store: Any, key: str) -> None:
        store.write(f"{key}/a", b"hello")
        store.write(f"{key}/b", memoryview(b"world"))
        store.write(f"{key}/c", iter([b"x" * 10, b"", b"y" * 5]))
        assert _read_all(store, f"{key}/a") == b"hello"
        assert _read_all(store, f"{key}/b") == b"world"
        assert _read_all(store, f"{key}/c") == b"x" * 10 + b"y" * 5
        store.write(f"{key}/empty", b"")
        assert store.exists(f"{key}/empty") and _read_all(store, f"{key}/empty") == b""

    def test_missing_object(self, store: Any, key: str) -> None:
        assert not store.exists(f"{key}/nope")
        with pytest.raises(KitaruBackendError, match="missing"):
            store.open(f"{key}/nope").read()
        store.delete(f"{key}/nope")  # deleting a missing object is not an error
        assert list(store.list(f"{key}/")) == []

    def test_rejects_escaping_keys(self, store: Any) -> None:
        for bad in ("", "/abs", "a/../../b"):
            with pytest.raises(KitaruUsageError):
                store.write(bad, b"x")

    def test_delete(self, store: Any, key: str) -> None:
        store.write(f"{key}/x", b"1")
        store.delete(f"{key}/x")
        assert not store.exists(f"{key}/x")

    def test_list_by_prefix(self, store: Any, key: str) -> None:
        for k in ("a/1", "a/2", "a/sub/3", "ab/x", "b/1"):
            store.write(f"{key}/{k}", k.encode())
        assert list(store.list(f"{key}/a/")) == [f"{key}/a/1", f"{key}/a/2", f"{key}/a/sub/3"]
        assert list(store.list(f"{key}/a")) == [f"{key}/a/1", f"{key}/a/2", f"{key}/a/sub/3", f"{key}/ab/x"]
        assert len(list(store.list(f"{key}/"))) == 5
        assert f"{key}/b/1" in set(store.list(""))
        assert list(store.list(f"{key}/zzz")) == []

    # ---------------------------------------------------------------- atomicity
    def test_failed_write_leaves_nothing(self, store: Any, key: str) -> None:
        def broken(chunks: int) -> Iterator[bytes]:
            for _ in range(chunks):
                yield b"a" * MB
            raise RuntimeError("producer crashed")

        for chunks in (1, self.atomic_size // MB):
            k = f"{key}/broken-{chunks}"
            with pytest.raises(RuntimeError, match="producer crashed"):
                store.write(k, broken(chunks))
            assert not store.exists(k)
            assert list(store.list(k)) == []

    def test_failed_overwrite_keeps_old_object(self, store: Any, key: str) -> None:
        store.write(f"{key}/o", b"old")

        def broken() -> Iterator[bytes]:
            yield b"new" * MB
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            store.write(f"{key}/o", broken())
        assert _read_all(store, f"{key}/o") == b"old"

    def test_atomic_visibility_under_concurrent_reads(self, store: Any, key: str) -> None:
        k, n = f"{key}/atomic", self.atomic_size // MB
        seen: list[bytes] = []
        errors: list[str] = []
        done = threading.Event()

        def slow(byte: bytes) -> Iterator[bytes]:
            chunk = byte * MB
            for _ in range(n):
                time.sleep(0.01)
                yield chunk

        def reader() -> None:
            deadline = time.monotonic() + 120
            while not done.is_set() and time.monotonic() < deadline:
                try:
                    data = _read_all(store, k)
                except KitaruBackendError:
                    continue  # not there yet: fine
                if len(data) != n * MB or data.strip(data[:1]):
                    errors.append(f"partial/mixed object seen: {len(data)} bytes")
                    return
                seen.append(data[:1])

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            store.write(k, slow(b"a"))
            store.write(k, slow(b"b"))
        finally:
            done.set()
            t.join(timeout=130)
        assert not errors, errors
        assert _read_all(store, k) == b"b" * n * MB
        assert set(seen) <= {b"a", b"b"}

    # ----------------------------------------------------------------- streaming
    def test_stream_large_object_with_bounded_memory(self, store: Any, key: str) -> None:
        k, chunk, count = f"{key}/big", b"\x5a" * MB, self.stream_size // MB
        expected = hashlib.sha256()
        for _ in range(count):
            expected.update(chunk)

        def produce() -> Iterator[bytes]:
            for _ in range(count):
                yield chunk

        tracemalloc.start()
        try:
            store.write(k, produce())
            _, write_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            got, size = hashlib.sha256(), 0
            with store.open(k) as f:
                while part := f.read(MB):
                    got.update(part)
                    size += len(part)
            _, read_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            store.delete(k)
        assert size == count * MB and got.hexdigest() == expected.hexdigest()
        assert write_peak < self.stream_peak_limit, f"write peak {write_peak / MB:.1f} MB for a {count} MB object"
        assert read_peak < self.stream_peak_limit, f"read peak {read_peak / MB:.1f} MB for a {count} MB object"

    # --------------------------------------------------------------- credentials
    def test_mint_credentials_shape(self, store: Any) -> None:
        for access in ("read", "write"):
            before = datetime.now(timezone.utc)
            creds = store.mint_credentials(self.mint_scope, access=access, ttl=self.mint_ttl)
            assert isinstance(creds, Credentials)
            assert (creds.flavor, creds.access, creds.scope) == (store.flavor, access, self.mint_scope)
            assert creds.expires_at.tzinfo is not None
            assert before < creds.expires_at <= before + timedelta(seconds=self.mint_ttl + 60)
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in creds.values.items())
            shown = repr(creds)
            assert all(v not in shown for v in creds.values.values() if len(v) >= 8), "credential values leak in repr"

    def test_mint_credentials_ttl_limits(self, store: Any) -> None:
        with pytest.raises(KitaruUsageError):
            store.mint_credentials(self.mint_scope, ttl=self.max_ttl + 1)
        with pytest.raises(KitaruUsageError):
            store.mint_credentials(self.mint_scope, ttl=0)
