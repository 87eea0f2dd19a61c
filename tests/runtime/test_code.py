"""Code shipping: a deterministic, content-addressed archive of the project; unchanged projects upload nothing."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from kitaru.artifacts import LocalArtifactStore
from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.runtime._code import fetch_code, package_code, unpacked_source


class CountingStore(LocalArtifactStore):
    """The real local store, counting writes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[str] = []

    def write(self, key: str, data: Any) -> None:
        self.writes.append(key)
        super().write(key, data)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "agents").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='p'\n")
    (root / "agents" / "flows.py").write_text("X = 1\n")
    (root / "data").mkdir()
    (root / "data" / "big.bin").write_bytes(b"x" * 1000)
    (root / "notes.log").write_text("log\n")
    (root / ".gitignore").write_text("*.log\n")
    (root / ".kitaruignore").write_text("data/\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.pyc").write_bytes(b"\0")
    return root


def _source(project: Path) -> dict[str, Any]:
    return {"module": None, "file": str(project / "agents" / "flows.py"), "qualname": "f", "importable": True}


def _names(store: LocalArtifactStore, ref: dict[str, Any]) -> list[str]:
    with store.open(ref["key"]) as f, tarfile.open(fileobj=io.BytesIO(f.read()), mode="r:gz") as tar:
        return tar.getnames()


def test_archive_honours_ignores_and_is_content_addressed(project: Path, tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "store")
    ref = package_code(_source(project), store, cache_dir=tmp_path / "cache")
    assert sorted(_names(store, ref)) == [".gitignore", ".kitaruignore", "agents/flows.py", "pyproject.toml"]
    assert ref["key"] == f"code/sha256/{ref['sha256']}.tar.gz" and ref["file"] == "agents/flows.py"
    assert store.writes == [ref["key"]]

    again = package_code(_source(project), store, cache_dir=tmp_path / "cache")
    assert again == ref and store.writes == [ref["key"]]  # unchanged: nothing uploaded
    fresh_cache = package_code(_source(project), store, cache_dir=tmp_path / "other-cache")
    assert fresh_cache["sha256"] == ref["sha256"] and store.writes == [ref["key"]]  # deterministic bytes

    (project / "agents" / "flows.py").write_text("X = 2\n")
    changed = package_code(_source(project), store, cache_dir=tmp_path / "cache")
    assert changed["sha256"] != ref["sha256"] and store.writes == [ref["key"], changed["key"]]


def test_oversized_project_names_its_biggest_files(project: Path, tmp_path: Path) -> None:
    (project / "weights.bin").write_bytes(b"w" * 5000)
    with pytest.raises(KitaruUsageError, match=r"weights\.bin .*\.kitaruignore"):
        package_code(_source(project), CountingStore(tmp_path / "s"), cache_dir=tmp_path / "c", max_bytes=4000)


def test_fetch_verifies_the_hash_and_unpacks_once(project: Path, tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    ref = package_code(_source(project), store, cache_dir=tmp_path / "cache")
    folder = fetch_code(ref, tmp_path / "runner")
    assert (folder / "agents" / "flows.py").read_text() == "X = 1\n"
    assert unpacked_source({**_source(project), "code": ref}, folder)["file"] == str(folder / "agents" / "flows.py")

    tampered = {**ref, "sha256": "0" * 64}
    with pytest.raises(KitaruBackendError, match="does not match its recorded hash"):
        fetch_code(tampered, tmp_path / "runner2")


def test_an_archive_that_escapes_its_folder_is_refused(tmp_path: Path) -> None:
    import hashlib

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil.py")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"boom"))
    store = LocalArtifactStore(tmp_path / "store")
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    store.write(f"code/sha256/{digest}.tar.gz", buf.getvalue())
    with pytest.raises(tarfile.TarError):
        fetch_code({"sha256": digest, "key": f"code/sha256/{digest}.tar.gz", "store": store.root}, tmp_path / "r")
    assert not (tmp_path / "evil.py").exists()
