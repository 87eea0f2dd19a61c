"""Serialization and content addressing through the public artifacts API."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pydantic
import pytest

from kitaru.artifacts import LocalArtifactStore, blob_key, get_value, put_value
from kitaru.errors import KitaruBackendError


class Model(pydantic.BaseModel):
    name: str
    tags: list[str]


@dataclasses.dataclass
class Inner:
    a: int


@dataclasses.dataclass
class Outer:
    inner: Inner
    label: str


class Opaque:
    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.v == self.v


@pytest.mark.parametrize(
    ("value", "serializer"),
    [
        ({"a": [1, 2.5, None, True, "x"]}, "json"),
        ([1, 2, 3], "json"),
        (None, "json"),
        ("héllo", "raw"),
        (b"\x00\xff", "raw"),
        (Model(name="n", tags=["t"]), "pydantic"),
        (Outer(Inner(1), "l"), "dataclass"),
        ((1, 2), "pickle"),  # a tuple is not JSON-native: it would come back as a list
        ({1: "int key"}, "pickle"),
        (Opaque(3), "pickle"),
    ],
)
def test_round_trip_uses_the_most_specific_serializer(tmp_path: Path, value: object, serializer: str) -> None:
    store = LocalArtifactStore(tmp_path)
    ref = put_value(store, value)
    assert ref["serializer"] == serializer
    loaded = get_value(store, ref)
    assert loaded == value and type(loaded) is type(value)


def test_identical_content_is_stored_once(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    a, b = put_value(store, {"x": 1}), put_value(store, {"x": 1})
    assert a == b
    assert list(store.list("blobs/")) == [blob_key(a["sha256"])]


def test_tampered_pickle_is_rejected_before_unpickling(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    ref = put_value(store, Opaque(1))
    (tmp_path / blob_key(ref["sha256"])).write_bytes(pickle.dumps(Opaque(2)))
    with pytest.raises(KitaruBackendError, match="corrupted"):
        get_value(store, ref)


def test_missing_blob_is_a_clear_backend_error(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    ref = put_value(store, "x")
    (tmp_path / blob_key(ref["sha256"])).unlink()
    with pytest.raises(KitaruBackendError, match="missing"):
        get_value(store, ref)


def test_unpicklable_output_gets_an_actionable_error(tmp_path: Path) -> None:
    from kitaru.errors import KitaruUsageError

    with pytest.raises(KitaruUsageError, match="register a serializer plugin"):
        put_value(LocalArtifactStore(tmp_path), lambda: 1)


def test_writes_are_atomic_no_temp_files_left(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.write("a/b", iter([b"x" * 10, b"y" * 10]))
    assert store.open("a/b").read() == b"x" * 10 + b"y" * 10
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b"]
