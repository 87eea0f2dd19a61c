"""The `s3` artifact store: streamed multipart writes (atomic on completion), streamed reads, STS minting."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, BinaryIO

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.plugins import Access, CredentialBroker, Credentials
from kitaru_s3._aws import client, region_of
from kitaru_s3._config import S3ArtifactStoreConfig
from kitaru_s3._policy import scoped_policy
from kitaru_s3._reader import S3ObjectReader

MIN_TTL, MAX_TTL = 900, 3600
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3ArtifactStore:
    """Objects under `s3://bucket/prefix`; every write becomes visible at once (PUT / CompleteMultipartUpload)."""

    flavor = "s3"

    def __init__(self, config: S3ArtifactStoreConfig, *, broker: CredentialBroker | None = None) -> None:
        self.config = config
        self.bucket, _, self.prefix = config.path[5:].partition("/")
        self.root = config.path
        self.region = region_of(config)
        self._broker = broker
        self._clients: dict[Access, Any] = {}
        self._lock = threading.Lock()

    def _client(self, access: Access) -> Any:
        """The S3 client for `access`; with a broker, reads use read-only credentials until a write needs more."""
        with self._lock:
            if access == "read" and "write" in self._clients:
                return self._clients["write"]
            if access not in self._clients:
                if self._broker is None and self._clients:  # one ambient identity serves both
                    self._clients[access] = next(iter(self._clients.values()))
                else:
                    self._clients[access] = client("s3", self.config, broker=self._broker, access=access,
                                                   s3={"addressing_style": self.config.addressing_style},
                                                   max_pool_connections=16)
            return self._clients[access]

    @property
    def _reader(self) -> Any:
        return self._client("read")

    @property
    def _writer(self) -> Any:
        return self._client("write")

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise KitaruUsageError(f"invalid artifact key {key!r}: use a relative path without '..'")
        return f"{self.prefix}/{key}" if self.prefix else key

    # ------------------------------------------------------------------ writes
    def write(self, key: str, data: bytes | memoryview | Iterable[bytes]) -> None:
        """Write atomically; large or streamed values go up as a multipart upload, aborted on failure."""
        full = self._key(key)
        size = self.config.multipart_chunksize
        if isinstance(data, (bytes, bytearray, memoryview)):
            view = memoryview(data).cast("B")
            if view.nbytes < self.config.multipart_threshold:
                self._writer.put_object(Bucket=self.bucket, Key=full, Body=bytes(view))
                return
            chunks: Iterable[bytes | memoryview] = (view[i:i + size] for i in range(0, view.nbytes, size))
        else:
            chunks = data
        self._write_stream(full, chunks)

    def _write_stream(self, full: str, chunks: Iterable[bytes | memoryview]) -> None:
        size, threshold = self.config.multipart_chunksize, self.config.multipart_threshold
        buf = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for chunk in chunks:
                buf += chunk
                if upload_id is None and len(buf) < threshold:
                    continue
                while len(buf) >= size:
                    if upload_id is None:
                        upload_id = self._writer.create_multipart_upload(Bucket=self.bucket, Key=full)["UploadId"]
                    part = bytes(buf[:size])
                    del buf[:size]
                    parts.append(self._upload_part(full, upload_id, len(parts) + 1, part))
                    del part
            if upload_id is None:
                self._writer.put_object(Bucket=self.bucket, Key=full, Body=bytes(buf))
                return
            if buf or not parts:
                parts.append(self._upload_part(full, upload_id, len(parts) + 1, bytes(buf)))
            self._writer.complete_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id,
                                               MultipartUpload={"Parts": parts})
        except BaseException:
            if upload_id is not None:
                try:
                    self._writer.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
                except Exception:  # noqa: BLE001 - the original error matters; lifecycle rules clean up
                    pass
            raise

    def _upload_part(self, full: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        resp = self._writer.upload_part(Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=body)
        return {"PartNumber": number, "ETag": resp["ETag"]}

    # ------------------------------------------------------------------- reads
    def open(self, key: str) -> BinaryIO:
        """Stream an object; KitaruBackendError if it is missing."""
        try:
            first = self._reader.get_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _code(exc) in _MISSING:
                raise KitaruBackendError(f"artifact {key!r} is missing from {self.root}") from None
            raise KitaruBackendError(f"cannot read artifact {key!r} from {self.root}: {exc}") from exc
        return S3ObjectReader(self._reader, self.bucket, self._key(key), first)  # type: ignore[return-value]

    def read_url(self, key: str, *, ttl: int = 300) -> str:
        """A presigned, read-only GET URL for one object, valid `ttl` seconds (browsers fetch previews with it;
        inline previews from another origin need the bucket's CORS rule, plain downloads do not)."""
        return str(self._reader.generate_presigned_url("get_object", Params={"Bucket": self.bucket,
                                                                              "Key": self._key(key)}, ExpiresIn=ttl))

    def exists(self, key: str) -> bool:
        """Whether an object exists under `key`."""
        try:
            self._reader.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in sorted (S3 lexicographic) order."""
        base = f"{self.prefix}/" if self.prefix else ""
        pages = self._reader.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix)
        for page in pages:
            for obj in page.get("Contents", ()):
                yield obj["Key"][len(base):]

    def delete(self, key: str) -> None:
        """Delete an object; deleting a missing object is not an error."""
        self._writer.delete_object(Bucket=self.bucket, Key=self._key(key))

    # ------------------------------------------------------------- credentials
    def mint_credentials(self, scope: str, *, access: Access = "read", ttl: int = MIN_TTL) -> Credentials:
        """STS credentials for `role_arn`, narrowed by an inline policy to `<prefix>/<scope>/` (read or write)."""
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise KitaruUsageError(f"ttl must be between {MIN_TTL} and {MAX_TTL} seconds for s3 (STS limits), got {ttl}")
        if access not in ("read", "write"):
            raise KitaruUsageError(f"access must be 'read' or 'write', got {access!r}")
        if not self.config.role_arn:
            raise KitaruUsageError(f"the s3 artifact store {self.root} has no role_arn: set `role_arn` in the stack's"
                                   " artifact_store (the role assumed to mint scoped credentials)")
        if any(c in scope for c in "*?"):
            raise KitaruUsageError(f"invalid scope {scope!r}: wildcards are not allowed")
        if scope.strip("/"):
            self._key(scope.strip("/"))  # same rules as keys: relative, no '..'
        scoped = "/".join(p for p in (self.prefix, scope.strip("/")) if p)
        policy = scoped_policy(self.bucket, scoped, access, region=self.region)
        sts = client("sts", self.config, endpoint_url=self.config.sts_endpoint_url or self.config.endpoint_url)
        try:
            resp = sts.assume_role(RoleArn=self.config.role_arn, RoleSessionName=f"kitaru-{uuid.uuid4().hex[:16]}",
                                   Policy=json.dumps(policy), DurationSeconds=ttl)
        except Exception as exc:
            raise KitaruBackendError(f"STS refused to mint credentials for {self.root}: {exc}") from exc
        c = resp["Credentials"]
        expires = c["Expiration"]
        expires = expires if expires.tzinfo else expires.replace(tzinfo=timezone.utc)
        values = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                  "aws_session_token": c["SessionToken"], "bucket": self.bucket, "prefix": scoped,
                  "region": self.region}
        if self.config.endpoint_url:
            values["endpoint_url"] = self.config.endpoint_url
        return Credentials("s3", access, scope, min(expires, _now_plus(ttl)), values)


def _now_plus(ttl: int) -> datetime:
    from datetime import timedelta

    return datetime.now(timezone.utc) + timedelta(seconds=ttl)


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
