"""Artifact storage: the store protocol, the local store, serializers, content-addressed blobs."""

from kitaru.artifacts._blobs import blob_key, get_value, hash_inputs, put_value, read_verified
from kitaru.artifacts._local import LocalArtifactStore
from kitaru.artifacts._protocol import Access, ArtifactStore, Credentials
from kitaru.artifacts._serializers import Serializer, SerializerRegistry, serializers

__all__ = [
    "Access",
    "ArtifactStore",
    "Credentials",
    "LocalArtifactStore",
    "Serializer",
    "SerializerRegistry",
    "blob_key",
    "get_value",
    "hash_inputs",
    "put_value",
    "read_verified",
    "serializers",
]
