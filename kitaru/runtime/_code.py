"""Ship a project's source to remote runners as a content-addressed archive in the stack's artifact store.

The client packs the project that defines the flow (the nearest folder above the flow's file with a
`pyproject.toml`, `setup.py`, `.git` or `.kitaruignore`; else the flow's own folder), honouring
`.gitignore` and `.kitaruignore`, into a deterministic `tar.gz` whose sha256 names it
(`code/sha256/<hash>.tar.gz`). An unchanged project costs one directory walk and uploads nothing: the
walk's fingerprint maps to the archive hash in a local cache, and the store already has the object.
A runner downloads the archive, verifies the hash and imports the flow from the unpacked copy.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kitaru.errors import KitaruBackendError, KitaruUsageError

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from kitaru.artifacts import ArtifactStore

CODE_PREFIX = "code/sha256/"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
ALWAYS_SKIPPED = frozenset({".git", ".hg", ".svn", ".venv", "venv", "__pycache__", ".kitaru", "node_modules",
                            ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".eggs", ".DS_Store"})
PROJECT_MARKERS = ("pyproject.toml", "setup.py", ".git", ".kitaruignore")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class _File:
    rel: str
    path: str
    size: int
    mtime_ns: int
    executable: bool


def project_root(source: dict[str, Any]) -> Path:
    """The folder whose contents a remote runner needs to import the flow."""
    start = Path(source.get("root") or os.path.dirname(source["file"]))
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return start


def _ignore_spec(root: Path) -> GitIgnoreSpec:
    from pathspec import GitIgnoreSpec

    lines: list[str] = []
    for name in (".gitignore", ".kitaruignore"):
        try:
            lines += (root / name).read_text().splitlines()
        except OSError:
            continue
    return GitIgnoreSpec.from_lines(lines)


def _walk(root: Path, exclude: tuple[str, ...] = ()) -> list[_File]:
    spec = _ignore_spec(root)
    found: list[_File] = []
    for folder, dirs, files in os.walk(root):
        if folder.startswith(exclude):
            dirs[:] = []
            continue
        rel_folder = os.path.relpath(folder, root)
        rel_folder = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
        dirs[:] = sorted(d for d in dirs if d not in ALWAYS_SKIPPED and not d.endswith(".egg-info")
                         and not spec.match_file(rel_folder + d + "/"))
        for name in sorted(files):
            rel = rel_folder + name
            if name in ALWAYS_SKIPPED or name.endswith((".pyc", ".pyo")) or spec.match_file(rel):
                continue
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if not os.path.isfile(path) or os.path.islink(path):
                continue  # symlinks and special files are not shipped
            found.append(_File(rel, path, st.st_size, st.st_mtime_ns, bool(st.st_mode & 0o111)))
    return found


def _check_size(files: list[_File], max_bytes: int, root: Path) -> None:
    total = sum(f.size for f in files)
    if total <= max_bytes:
        return
    biggest = sorted(files, key=lambda f: f.size, reverse=True)[:5]
    listing = ", ".join(f"{f.rel} ({f.size / 1e6:.1f} MB)" for f in biggest)
    raise KitaruUsageError(
        f"the project at {root} is {total / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit for shipping code"
        f" to remote runners; biggest files: {listing}. List data and build outputs in {root / '.kitaruignore'}"
        " (gitignore syntax) or raise KITARU_CODE_MAX_BYTES"
    )


def _pack(files: list[_File], out: io.RawIOBase) -> None:
    """A deterministic tar.gz: sorted names, zeroed times and owners, normalised modes."""
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for f in files:
            info = tarfile.TarInfo(f.rel)
            info.size, info.mtime, info.mode = f.size, 0, 0o755 if f.executable else 0o644
            with open(f.path, "rb") as data:
                tar.addfile(info, data)


class _HashingWriter(io.RawIOBase):
    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.digest.update(b)
        self.size += len(b)
        self.target.write(b)
        return len(b)


def package_code(source: dict[str, Any], store: ArtifactStore, *, cache_dir: Path, max_bytes: int | None = None,
                 exclude: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Pack and upload (if new) the flow's project; return the code reference stored with the execution.

    `exclude`: folders never shipped even inside the project (Kitaru's own home and stores).
    """
    root = project_root(source)
    files = _walk(root, tuple(str(p.resolve()) for p in exclude))
    _check_size(files, max_bytes or int(os.environ.get("KITARU_CODE_MAX_BYTES", DEFAULT_MAX_BYTES)), root)
    fingerprint = hashlib.sha256(json.dumps([(f.rel, f.size, f.mtime_ns, f.executable) for f in files]).encode())
    cache = cache_dir / f"{fingerprint.hexdigest()}.json"
    ref = _cached(cache, store)
    if ref is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=cache_dir) as tmp:
            writer = _HashingWriter(tmp)
            _pack(files, writer)
            digest = writer.digest.hexdigest()
            ref = {"sha256": digest, "key": f"{CODE_PREFIX}{digest}.tar.gz", "store": store.root, "size": writer.size}
            if not store.exists(ref["key"]):
                tmp.seek(0)
                store.write(ref["key"], iter(lambda: tmp.read(_CHUNK), b""))
        _atomic_write(cache, json.dumps(ref))
    return {**ref, **_location(source, root)}


def _cached(cache: Path, store: ArtifactStore) -> dict[str, Any] | None:
    try:
        ref: dict[str, Any] = json.loads(cache.read_text())
    except (OSError, ValueError):
        return None
    return ref if ref.get("store") == store.root and store.exists(ref["key"]) else None


def _location(source: dict[str, Any], root: Path) -> dict[str, Any]:
    """Where the flow sits inside the archive (its import root or its script file)."""
    if source.get("module"):
        return {"import_root": os.path.relpath(source["root"], root).replace(os.sep, "/")}
    return {"file": os.path.relpath(source["file"], root).replace(os.sep, "/")}


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def fetch_code(ref: dict[str, Any], dest_dir: Path) -> Path:
    """Download, verify and unpack a code archive once; return the unpacked project folder."""
    target = dest_dir / str(ref["sha256"])
    if (target / ".kitaru-complete").exists():
        return target
    from kitaru.stacks import store_from_root

    store = store_from_root(ref["store"])
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=dest_dir) as tmp:
        digest = hashlib.sha256()
        with store.open(ref["key"]) as src:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                digest.update(chunk)
                tmp.write(chunk)
        if digest.hexdigest() != ref["sha256"]:
            raise KitaruBackendError(f"code archive {ref['key']} in {ref['store']} does not match its recorded hash"
                                     " (corrupted or replaced); re-run the flow from its project to ship it again")
        tmp.seek(0)
        staging = Path(tempfile.mkdtemp(dir=dest_dir, prefix=".unpack-"))
        try:
            with tarfile.open(fileobj=tmp, mode="r:gz") as tar:
                tar.extractall(staging, filter="data")  # refuses absolute paths, '..' and links out of the tree
            (staging / ".kitaru-complete").touch()
            os.replace(staging, target)
        except OSError:
            if not (target / ".kitaru-complete").exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def unpacked_source(source: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The source description pointing into an unpacked archive instead of the starter's machine."""
    code = source["code"]
    if "import_root" in code:
        return {**source, "root": str((folder / code["import_root"]).resolve()), "file": None, "cwd": str(folder)}
    return {**source, "file": str(folder / code["file"]), "cwd": str(folder)}
