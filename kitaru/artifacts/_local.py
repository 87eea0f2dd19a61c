"""The built-in `local` artifact store: a directory on the local filesystem."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from kitaru.artifacts._protocol import Access, Credentials
from kitaru.errors import KitaruBackendError, KitaruUsageError

MAX_TTL = 3600


class LocalArtifactStore:
    """Objects are files under `root`; writes go to a temp file in the same directory, then rename."""

    flavor = "local"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().resolve()
        self.root = self.path.as_uri()
        self._base = str(self.path)
        self._dirs: set[str] = set()
        self._counter = itertools.count()

    def _file(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise KitaruUsageError(f"invalid artifact key {key!r}: use a relative path without '..'")
        return os.path.join(self._base, key)

    def write(self, key: str, data: bytes | memoryview | Iterable[bytes]) -> None:
        """Write atomically: readers see the old object, or the whole new one."""
        target = self._file(key)
        parent = os.path.dirname(target)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
            from kitaru.config._paths import ensure_gitignore

            ensure_gitignore(self.path.parent)  # `<project>/.kitaru/artifacts`: keep it out of version control
        tmp = os.path.join(parent, f".tmp-{os.getpid()}-{threading.get_ident()}-{next(self._counter)}")
        try:
            with open(tmp, "xb") as f:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    f.write(data)
                else:
                    for chunk in data:
                        f.write(chunk)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def open(self, key: str) -> BinaryIO:
        """Open an object for streaming reads."""
        try:
            return open(self._file(key), "rb")
        except FileNotFoundError:
            raise KitaruBackendError(f"artifact {key!r} is missing from {self.root}") from None

    def exists(self, key: str) -> bool:
        """Whether an object exists under `key`."""
        return os.path.isfile(self._file(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in sorted order (temp files excluded)."""
        base = self.path
        if not base.exists():
            return iter(())
        keys = (
            p.relative_to(base).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )
        return iter(sorted(k for k in keys if k.startswith(prefix)))

    def delete(self, key: str) -> None:
        """Delete an object; deleting a missing object is not an error."""
        try:
            os.unlink(self._file(key))
        except FileNotFoundError:
            pass

    def mint_credentials(self, scope: str, *, access: Access = "read", ttl: int = 900) -> Credentials:
        """Local files need no credentials: return the path the scope maps to."""
        if not 0 < ttl <= MAX_TTL:
            raise KitaruUsageError(f"ttl must be between 1 and {MAX_TTL} seconds, got {ttl}")
        expires = datetime.now(timezone.utc) + timedelta(seconds=ttl)
        return Credentials("local", access, scope, expires, {"path": str(self.path / scope)})
