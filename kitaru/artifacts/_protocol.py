"""The artifact store protocol every flavor implements (local filesystem, S3, GCS, Azure)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Literal, Protocol, runtime_checkable

Access = Literal["read", "write"]


@dataclass(frozen=True)
class Credentials:
    """Short-lived credentials for one stack component, scoped to a prefix."""

    flavor: str
    access: Access
    scope: str
    expires_at: datetime
    values: dict[str, str] = field(repr=False)


@runtime_checkable
class ArtifactStore(Protocol):
    """Where every byte of checkpoint outputs and artifacts lives.

    Keys are '/'-separated paths relative to the store's root. `write` is atomic: a reader
    sees the whole object or nothing. `open` streams; nothing needs the object in memory.
    """

    flavor: str
    root: str

    def write(self, key: str, data: bytes | memoryview | Iterable[bytes]) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...

    def delete(self, key: str) -> None: ...

    def mint_credentials(self, scope: str, *, access: Access = "read", ttl: int = 900) -> Credentials: ...
