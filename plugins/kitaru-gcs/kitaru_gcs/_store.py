"""The `gcs` artifact store: streamed resumable uploads (visible only once finalized), generation-pinned
streamed reads, create-once content-addressed blobs, downscoped credential minting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import quote

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.plugins import Access, CredentialBroker, Credentials
from kitaru_gcs._auth import brokered, fresh_token, identity
from kitaru_gcs._config import GCSArtifactStoreConfig
from kitaru_gcs._downscope import access_boundary, exchange
from kitaru_gcs._errors import gcs_errors, retry_policy, transient_response
from kitaru_gcs._reader import GCSObjectReader

MIN_TTL, MAX_TTL = 60, 3600
MAX_URL_TTL = 7 * 24 * 3600  # the V4 signature limit
DEFAULT_ENDPOINT = "https://storage.googleapis.com"
CONTENT_ADDRESSED = "blobs/sha256/"  # written once: same key, same bytes


class GCSArtifactStore:
    """Objects under `gs://bucket/prefix`; a write becomes visible only when its upload is finalized."""

    flavor = "gcs"

    def __init__(self, config: GCSArtifactStoreConfig, *, broker: CredentialBroker | None = None) -> None:
        self.config = config
        self.bucket, _, self.prefix = config.path[5:].partition("/")
        self.root = config.path
        self.endpoint = (config.endpoint_url or DEFAULT_ENDPOINT).rstrip("/")
        self._broker = broker if not (config.service_account_key or config.anonymous) else None
        self._retry = retry_policy(config.retry_deadline)
        self._clients: dict[Access, tuple[Any, Any]] = {}
        self._source: Any = None  # the server's own identity (minting), built once: its token is reused while valid
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- clients
    def _conn(self, access: Access) -> tuple[Any, Any]:
        """(storage client, authorized session) for `access`; with a broker, reads stay read-only until a write."""
        with self._lock:
            if access == "read" and "write" in self._clients:
                return self._clients["write"]
            if access not in self._clients:
                if self._broker is None and self._clients:  # one identity serves both
                    self._clients[access] = next(iter(self._clients.values()))
                else:
                    self._clients[access] = self._connect(access)
            return self._clients[access]

    def _connect(self, access: Access) -> tuple[Any, Any]:
        from google.api_core.client_options import ClientOptions
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud.storage import Client

        creds = brokered(self._broker, access) if self._broker is not None else identity(self.config)
        session = AuthorizedSession(creds)
        client = Client(project=self.config.project or "kitaru-no-project", credentials=creds, _http=session,
                                client_options=ClientOptions(api_endpoint=self.endpoint))
        if getattr(client, "_bucket_metadata_cache", None) is not None:
            # google-cloud-storage ≥ 3.5 fetches bucket metadata in the background for trace attributes: an extra
            # request per bucket that needs storage.buckets.get, which prefix-scoped tokens rightly lack
            client._bucket_metadata_cache = None
        return client, session

    def _blob(self, full: str, access: Access) -> Any:
        client, _ = self._conn(access)
        return client.bucket(self.bucket).blob(full, chunk_size=self.config.chunk_size)

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise KitaruUsageError(f"invalid artifact key {key!r}: use a relative path without '..'")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _where(self, full: str) -> str:
        return f"gs://{self.bucket}/{full}"

    # ----------------------------------------------------------------- writes
    def write(self, key: str, data: bytes | memoryview | Iterable[bytes]) -> None:
        """Write atomically: small values in one request, larger ones as a streamed resumable upload.

        Content-addressed blobs are created only if absent (`ifGenerationMatch=0`); a concurrent writer of
        the same blob wins harmlessly (same bytes)."""
        full = self._key(key)
        once = key.startswith(CONTENT_ADDRESSED)
        threshold, size = self.config.resumable_threshold, self.config.chunk_size
        if isinstance(data, (bytes, bytearray, memoryview)):
            view = memoryview(data).cast("B")
            if view.nbytes < threshold:
                self._put(full, bytes(view), once)
                return
            chunks: Iterable[bytes | memoryview] = (view[i:i + size] for i in range(0, view.nbytes, size))
        else:
            chunks = data
        it = iter(chunks)
        head = bytearray()
        for chunk in it:
            head += chunk
            if len(head) >= threshold:
                break
        else:
            self._put(full, bytes(head), once)
            return
        self._stream(full, head, it, once)

    def _put(self, full: str, body: bytes, once: bool) -> None:
        from google.api_core.exceptions import PreconditionFailed

        blob = self._blob(full, "write")
        with gcs_errors("write", self._where(full)):
            try:
                blob.upload_from_string(body, content_type="application/octet-stream", retry=self._retry,
                                        timeout=self.config.timeout, if_generation_match=0 if once else None)
            except PreconditionFailed:
                if not once:
                    raise

    def _stream(self, full: str, head: bytearray, rest: Iterator[bytes | memoryview], once: bool) -> None:
        """A resumable upload fed chunk by chunk; on any error the session is cancelled (nothing visible)."""
        from google.api_core.exceptions import PreconditionFailed
        from google.cloud.storage.fileio import BlobWriter

        blob = self._blob(full, "write")
        extra = {"if_generation_match": 0} if once else {}
        with gcs_errors("write", self._where(full)):
            writer = BlobWriter(blob, chunk_size=self.config.chunk_size, ignore_flush=True, retry=self._retry,
                                content_type="application/octet-stream", timeout=self.config.timeout, **extra)
            try:
                try:
                    writer.write(bytes(head))
                    head.clear()
                    for chunk in rest:
                        writer.write(chunk)
                except BaseException:
                    _cancel(writer)
                    raise
                writer.close()  # the last chunk finalizes the object: only now does it become visible
            except PreconditionFailed:
                if not once:
                    raise

    # ------------------------------------------------------------------ reads
    def open(self, key: str) -> BinaryIO:
        """Stream an object (ranged re-reads pinned to its generation); KitaruBackendError if it is missing."""
        full = self._key(key)
        first = self._media_get(full, 0, None, key)
        return GCSObjectReader(first, lambda start, gen: self._media_get(full, start, gen, key))  # type: ignore[return-value]

    def _media_get(self, full: str, start: int, generation: str | None, key: str) -> Any:
        _, session = self._conn("read")
        url = f"{self.endpoint}/download/storage/v1/b/{quote(self.bucket, safe='')}/o/{quote(full, safe='')}"
        params = {"alt": "media", **({"generation": generation} if generation else {})}
        headers = {"Range": f"bytes={start}-"} if start else {}

        def attempt() -> Any:
            resp = session.get(url, params=params, headers=headers, stream=True, timeout=(10, self.config.timeout))
            if transient_response(resp):
                resp.close()
                resp.raise_for_status()
            return resp

        with gcs_errors("read", self._where(full)):
            resp = self._retry(attempt)()
        if resp.status_code == 404:
            resp.close()
            what = "was replaced while being read" if generation else "is missing from"
            raise KitaruBackendError(f"artifact {key!r} {what} {self.root} (or the bucket {self.bucket!r} does not"
                                     " exist)")
        if resp.status_code in (401, 403):
            resp.close()
            raise KitaruBackendError(f"permission denied: cannot read {self._where(full)}; the identity needs"
                                     f" roles/storage.objectViewer on gs://{self.bucket} (brokered credentials"
                                     " cover only the stack's prefix)")
        if resp.status_code not in (200, 206):
            resp.close()
            raise KitaruBackendError(f"cannot read {self._where(full)}: HTTP {resp.status_code} {resp.text[:200]}")
        return resp

    def read_url(self, key: str, *, ttl: int = 300) -> str:
        """A V4-signed, read-only GET URL for one object, valid `ttl` seconds: browsers fetch previews with it
        straight from GCS (inline previews from another origin need the bucket's CORS rule, downloads do not).

        Signed by the server's own identity: a service-account key signs locally; a service-account identity
        without a key (GCE/GKE/impersonated) signs through IAM signBlob. Never with a brokered token."""
        if not 1 <= ttl <= MAX_URL_TTL:
            raise KitaruUsageError(f"ttl must be between 1 and {MAX_URL_TTL} seconds for a signed GCS URL, got {ttl}")
        if self._broker is not None or self.config.anonymous:
            raise KitaruUsageError(f"the gcs store {self.root} has no identity that can sign URLs here (brokered or"
                                   " anonymous); the Kitaru server signs them with its service account")
        with self._lock:
            if self._source is None:
                self._source = identity(self.config)
            creds = self._source
        client, _ = self._conn("read")
        blob = client.bucket(self.bucket).blob(self._key(key))
        sign: dict[str, Any] = {"credentials": creds}
        if not hasattr(creds, "sign_bytes") or not getattr(creds, "signer_email", None):
            email = getattr(creds, "service_account_email", None)
            if not email or email == "default":
                raise KitaruBackendError(f"the identity of {self.root} cannot sign URLs: use a service account (a key"
                                         " in service_account_key, or a workload identity bound to one)")
            sign = {"service_account_email": email, "access_token": fresh_token(creds)}
        with gcs_errors("sign a read URL for", self._where(blob.name)):
            return str(blob.generate_signed_url(version="v4", expiration=timedelta(seconds=ttl), method="GET",
                                                api_access_endpoint=self.endpoint, **sign))

    def exists(self, key: str) -> bool:
        """Whether an object exists under `key`."""
        full = self._key(key)
        with gcs_errors("read", self._where(full)):
            return bool(self._blob(full, "read").exists(retry=self._retry, timeout=self.config.timeout))

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in lexicographic order."""
        base = f"{self.prefix}/" if self.prefix else ""
        client, _ = self._conn("read")
        with gcs_errors("list", f"gs://{self.bucket}/{base}{prefix}"):
            for blob in client.list_blobs(self.bucket, prefix=base + prefix, retry=self._retry,
                                          timeout=self.config.timeout):
                yield blob.name[len(base):]

    def delete(self, key: str) -> None:
        """Delete an object; deleting a missing object is not an error."""
        from google.api_core.exceptions import NotFound

        full = self._key(key)
        with gcs_errors("delete", self._where(full)):
            try:
                self._blob(full, "write").delete(retry=self._retry, timeout=self.config.timeout)
            except NotFound:
                pass

    # ------------------------------------------------------------ credentials
    def mint_credentials(self, scope: str, *, access: Access = "read", ttl: int = 900) -> Credentials:
        """A token of the server's identity downscoped (Credential Access Boundary) to `<prefix>/<scope>/`."""
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise KitaruUsageError(f"ttl must be between {MIN_TTL} and {MAX_TTL} seconds for gcs, got {ttl}")
        if access not in ("read", "write"):
            raise KitaruUsageError(f"access must be 'read' or 'write', got {access!r}")
        if any(c in scope for c in "*?'\"\\"):
            raise KitaruUsageError(f"invalid scope {scope!r}: wildcards and quotes are not allowed")
        if scope.strip("/"):
            self._key(scope.strip("/"))  # same rules as keys: relative, no '..'
        if self.config.anonymous:
            raise KitaruBackendError(f"the gcs store {self.root} acts anonymously (anonymous: true) and cannot mint"
                                     " downscoped credentials; give the server a Google identity")
        scoped = "/".join(p for p in (self.prefix, scope.strip("/")) if p)
        with self._lock:
            if self._source is None:
                self._source = identity(self.config)  # the server's own identity, never a brokered token
            own = fresh_token(self._source)
        token, expires = exchange(own, access_boundary(self.bucket, scoped, access),
                                  self.config.sts_endpoint_url)
        values = {"access_token": token, "token_type": "Bearer", "bucket": self.bucket, "prefix": scoped}
        if self.config.endpoint_url:
            values["endpoint_url"] = self.config.endpoint_url
        return Credentials("gcs", access, scope, min(expires, datetime.now(UTC) + timedelta(seconds=ttl)),
                           values)


def _cancel(writer: Any) -> None:
    """Cancel a resumable upload session; if even that fails, the unfinished session never becomes visible."""
    try:
        writer.terminate()
    except Exception as exc:  # noqa: BLE001 - keep the original error; GCS expires abandoned sessions in a week
        logging.getLogger("kitaru.gcs").warning("could not cancel an unfinished GCS upload session: %s", exc)
