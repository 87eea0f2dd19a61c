"""A streaming, resumable reader over one S3 object (ranged re-GET pinned to the object's ETag)."""

from __future__ import annotations

import io
from typing import Any

_RETRIES = 5


class S3ObjectReader(io.RawIOBase):
    """Reads an object as a stream; a dropped connection resumes with `Range` + `IfMatch`."""

    def __init__(self, client: Any, bucket: str, key: str, first: dict[str, Any]) -> None:
        super().__init__()
        self._client, self._bucket, self._key = client, bucket, key
        self._body = first["Body"]
        self._etag = first.get("ETag")
        self.size = int(first.get("ContentLength") or 0)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all remaining if negative); b"" at the end."""
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        for attempt in range(_RETRIES + 1):
            try:
                data: bytes = self._body.read(size)
                break
            except Exception as exc:  # noqa: BLE001 - connection errors from urllib3/botocore
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
            self._body.close()
        except Exception:  # noqa: BLE001
            pass
        extra = {"IfMatch": self._etag} if self._etag else {}
        self._body = self._client.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-",
                                             **extra)["Body"]

    def close(self) -> None:
        if not self.closed:
            try:
                self._body.close()
            finally:
                super().close()


def _transient(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError, ResponseStreamingError
    from urllib3.exceptions import ProtocolError

    return isinstance(exc, (BotoConnectionError, ReadTimeoutError, ResponseStreamingError, ProtocolError,
                            ConnectionError, TimeoutError))
