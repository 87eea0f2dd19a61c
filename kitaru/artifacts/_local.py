"""The built-in `local` artifact store: a directory on the local filesystem."""

from __future__ import annotations

import os
import tempfile
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

    def _file(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise KitaruUsageError(f"invalid artifact key {key!r}: use a relative path without '..'")
        return self.path / key

    def write(self, key: str, data: bytes | memoryview | Iterable[bytes]) -> None:
        """Write atomically: readers see the old object, or the whole new one."""
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
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
            return self._file(key).open("rb")
        except FileNotFoundError:
            raise KitaruBackendError(f"artifact {key!r} is missing from {self.root}") from None

    def exists(self, key: str) -> bool:
        """Whether an object exists under `key`."""
        return self._file(key).is_file()

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
            self._file(key).unlink()
        except FileNotFoundError:
            pass

    def mint_credentials(self, scope: str, *, access: Access = "read", ttl: int = 900) -> Credentials:
        """Local files need no credentials: return the path the scope maps to."""
        if not 0 < ttl <= MAX_TTL:
            raise KitaruUsageError(f"ttl must be between 1 and {MAX_TTL} seconds, got {ttl}")
        expires = datetime.now(timezone.utc) + timedelta(seconds=ttl)
        return Credentials("local", access, scope, expires, {"path": str(self.path / scope)})
