"""Content-addressed values: serialize, hash, store once; read back verified.

A blob ref is the JSON the journal records: {"sha256", "size", "serializer", "type", "store"}.
"""

from __future__ import annotations

import hashlib
import reprlib
from typing import Any

from kitaru.artifacts._protocol import ArtifactStore
from kitaru.artifacts._serializers import serializers
from kitaru.errors import KitaruBackendError

_CHUNK = 1 << 20
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80


def blob_key(digest: str) -> str:
    """Where the bytes with this sha256 live inside a store."""
    return f"blobs/sha256/{digest[:2]}/{digest}"


def encode_value(store: ArtifactStore, value: Any) -> tuple[bytes | memoryview, dict[str, Any]]:
    """Serialize `value`: (its bytes, the blob ref it will have in `store`), without writing anything."""
    serializer = serializers.for_value(value)
    data, type_ref = serializer.dump(value)
    digest = hashlib.sha256(data).hexdigest()
    return data, {"sha256": digest, "size": len(data) if not isinstance(data, memoryview) else data.nbytes,
                  "serializer": serializer.name, "type": type_ref, "store": store.root}


def write_encoded(store: ArtifactStore, data: bytes | memoryview, ref: dict[str, Any]) -> None:
    """Write the bytes of an encoded value (once per content)."""
    key = blob_key(ref["sha256"])
    if not store.exists(key):
        store.write(key, data)


def put_value(store: ArtifactStore, value: Any) -> dict[str, Any]:
    """Serialize `value`, write its bytes (once per content), return its blob ref."""
    data, ref = encode_value(store, value)
    write_encoded(store, data, ref)
    return ref


def read_verified(store: ArtifactStore, ref: dict[str, Any]) -> bytes:
    """Read a blob's bytes and check them against the recorded sha256 and size."""
    digest = ref["sha256"]
    h = hashlib.sha256()
    parts: list[bytes] = []
    with store.open(blob_key(digest)) as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            parts.append(chunk)
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    if h.hexdigest() != digest or len(data) != ref["size"]:
        raise KitaruBackendError(
            f"artifact {blob_key(digest)} in {store.root} is corrupted (content hash mismatch); it was not loaded."
            " Re-run the checkpoint that produced it (replay from it) or restore the file"
        )
    return data


def get_value(store: ArtifactStore, ref: dict[str, Any]) -> Any:
    """Load a value from its blob ref; the hash is verified before deserializing."""
    data = read_verified(store, ref)
    return serializers.by_name(ref["serializer"]).load(data, ref.get("type"))


def hash_inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str | None, str]:
    """A hash that is the same in every process (None: some input has no stable encoding, see
    kitaru/artifacts/_hashing.py) and a short preview of a checkpoint's inputs (cache key, UI)."""
    from kitaru.artifacts._hashing import input_hash

    digest = input_hash({"args": list(args), "kwargs": kwargs})
    shown = [_REPR.repr(a) for a in args] + [f"{k}={_REPR.repr(v)}" for k, v in kwargs.items()]
    text = ", ".join(shown)
    return digest, (text[:197] + "...") if len(text) > 200 else text
