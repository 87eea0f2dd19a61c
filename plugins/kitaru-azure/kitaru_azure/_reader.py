"""A streaming, resumable reader over one blob: chunked ranged GETs pinned to the blob's ETag."""

from __future__ import annotations

import io
from typing import Any

_RETRIES = 5


class BlobReader(io.RawIOBase):
    """Reads a blob chunk by chunk; a dropped connection resumes at the current offset with `If-Match: <etag>`,
    so a blob replaced meanwhile is an error, never a mix of two versions."""

    def __init__(self, blob: Any, downloader: Any) -> None:
        super().__init__()
        self._blob = blob
        self._etag = downloader.properties.etag
        self.size = int(downloader.size)
        self._chunks = downloader.chunks()
        self._buf = memoryview(b"")
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
        for attempt in range(_RETRIES + 1):
            if self._pos >= self.size:
                return b""
            try:
                return next(self._chunks, b"")
            except Exception as exc:  # noqa: BLE001 - connection errors from azure-core / urllib3
                if attempt == _RETRIES or not _transient(exc):
                    raise _failed(exc, self._blob.blob_name) from exc
                self._reopen()
        return b""  # pragma: no cover

    def _reopen(self) -> None:
        from azure.core import MatchConditions

        try:
            downloader = self._blob.download_blob(offset=self._pos, etag=self._etag,
                                                  match_condition=MatchConditions.IfNotModified, max_concurrency=1)
        except Exception as exc:
            raise _failed(exc, self._blob.blob_name) from exc
        self._chunks = downloader.chunks()

    def close(self) -> None:
        if not self.closed:
            self._chunks = iter(())
            self._buf = memoryview(b"")
            super().close()


def _failed(exc: BaseException, name: str) -> Exception:
    """A KitaruBackendError for a read that cannot go on (the blob changed, vanished, or access was lost)."""
    from kitaru.errors import KitaruBackendError
    from kitaru_azure._errors import backend_error, error_code

    if error_code(exc) == "ConditionNotMet":
        return KitaruBackendError(f"blob {name!r} was replaced while it was being read; read it again")
    if _transient(exc):
        return backend_error(exc, f"reading blob {name!r} failed after retries")
    return backend_error(exc, f"cannot read blob {name!r}") if hasattr(exc, "status_code") else exc  # type: ignore[return-value]


def _transient(exc: BaseException) -> bool:
    from azure.core.exceptions import IncompleteReadError, ServiceRequestError, ServiceResponseError

    return isinstance(exc, (ServiceRequestError, ServiceResponseError, IncompleteReadError, ConnectionError,
                            TimeoutError))
