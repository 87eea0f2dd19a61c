"""A streaming, resumable reader over one blob: ranged GETs of `chunk` bytes, each pinned to the blob's ETag."""

from __future__ import annotations

import io
from typing import Any

_RETRIES = 5


class BlobReader(io.RawIOBase):
    """Reads a blob one ranged GET at a time (`If-Match: <etag>`), so at most one chunk is in memory; a dropped
    connection retries the current range, and a blob replaced meanwhile is an error, never a mix of versions."""

    def __init__(self, blob: Any, first: Any, chunk: int) -> None:
        super().__init__()
        self._blob, self._chunk = blob, chunk
        self._etag = first.properties.etag
        self.size = _total_size(first.properties)
        self._buf = memoryview(first.readall())
        self._fetched = len(self._buf)  # bytes of the blob requested so far
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all remaining if negative); b"" at the end."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if not self._buf:
            self._buf = memoryview(self._next_chunk())
        data = bytes(self._buf[:size])
        self._buf = self._buf[len(data):]
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next_chunk(self) -> bytes:
        from azure.core import MatchConditions

        if self._fetched >= self.size:
            return b""
        length = min(self._chunk, self.size - self._fetched)
        for attempt in range(_RETRIES + 1):
            try:
                data: bytes = self._blob.download_blob(
                    offset=self._fetched, length=length, etag=self._etag,
                    match_condition=MatchConditions.IfNotModified, max_concurrency=1).readall()
                break
            except Exception as exc:  # noqa: BLE001 - connection errors from azure-core / urllib3
                if attempt == _RETRIES or not _transient(exc):
                    raise _failed(exc, self._blob.blob_name) from exc
        self._fetched += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            self._buf = memoryview(b"")
            super().close()


def _total_size(properties: Any) -> int:
    """The whole blob's size: a ranged download reports `bytes START-END/TOTAL` (its `size` is the range's)."""
    content_range = getattr(properties, "content_range", None) or ""
    total = content_range.rpartition("/")[2]
    return int(total) if total.isdigit() else int(properties.size)


def _failed(exc: BaseException, name: str) -> Exception:
    """A KitaruBackendError for a read that cannot go on (the blob changed, vanished, or access was lost)."""
    from kitaru.errors import KitaruBackendError
    from kitaru_azure._errors import backend_error, error_code

    if error_code(exc) == "ConditionNotMet" or getattr(exc, "status_code", None) == 412:
        return KitaruBackendError(f"blob {name!r} was replaced while it was being read; read it again")
    if _transient(exc):
        return backend_error(exc, f"reading blob {name!r} failed after retries")
    return backend_error(exc, f"cannot read blob {name!r}")


def _transient(exc: BaseException) -> bool:
    from azure.core.exceptions import IncompleteReadError, ServiceRequestError, ServiceResponseError

    return isinstance(exc, (ServiceRequestError, ServiceResponseError, IncompleteReadError, ConnectionError,
                            TimeoutError))
