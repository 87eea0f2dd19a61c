"""A streaming, resumable reader over one GCS object: a dropped connection resumes with a ranged GET
pinned to the object's generation (an object replaced meanwhile is an error, never a mix of two)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

_RETRIES = 5


class GCSObjectReader(io.RawIOBase):
    """Reads the body of a media GET; `reopen(start, generation)` returns a new response from `start`."""

    def __init__(self, first: Any, reopen: Callable[[int, str | None], Any]) -> None:
        super().__init__()
        self._resp = first
        self._reopen_at = reopen
        self.generation: str | None = first.headers.get("x-goog-generation")
        self.size = int(first.headers.get("content-length") or 0)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all remaining if negative); b"" at the end."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        for attempt in range(_RETRIES + 1):
            try:
                data: bytes = self._resp.raw.read(size)
                break
            except Exception as exc:
                if attempt == _RETRIES or not _transient(exc):
                    raise
                self._reopen()
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _reopen(self) -> None:
        try:
            self._resp.close()
        except Exception as exc:  # noqa: BLE001 - the stale response is dropped either way
            logging.getLogger("kitaru.gcs").debug("closing a broken GCS read stream failed: %s", exc)
        self._resp = self._reopen_at(self._pos, self.generation)

    def close(self) -> None:
        if not self.closed:
            try:
                self._resp.close()
            finally:
                super().close()


def _transient(exc: BaseException) -> bool:
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    return isinstance(exc, (ProtocolError, ReadTimeoutError, RequestsConnectionError, ConnectionError, TimeoutError))
