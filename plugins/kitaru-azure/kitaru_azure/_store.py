"""The `azure` artifact store: block blobs written atomically (staged blocks, one commit), streamed reads,
create-if-absent for content-addressed blobs, SAS minting for the stack's prefix."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.plugins import Access, CredentialBroker, Credentials
from kitaru_azure._clients import (
    Identity,
    brokered_credential,
    container_client,
    own_credential,
    resolve_identity,
)
from kitaru_azure._config import AzureArtifactStoreConfig
from kitaru_azure._errors import backend_error, error_code, is_missing
from kitaru_azure._reader import BlobReader
from kitaru_azure._sas import DelegationKeys, blob_read_sas, sign

MIN_TTL, MAX_TTL = 1, 3600
CONTENT_ADDRESSED = "blobs/"  # keys named by their content hash: written once, never replaced


class AzureArtifactStore:
    """Blobs under `az://container/prefix`; a write becomes visible at once, whole (Put Blob / Put Block List)."""

    flavor = "azure"

    def __init__(self, config: AzureArtifactStoreConfig, *, broker: CredentialBroker | None = None,
                 token_credential: Any = None) -> None:
        self.config = config
        self.container, _, self.prefix = config.path[5:].partition("/")
        self.root = config.path
        has_own = bool(config.account_key or config.connection_string or config.sas_token)
        self._broker = broker if not has_own else None
        self.identity: Identity = resolve_identity(config, brokered=self._broker is not None)
        self._token_credential = token_credential
        self._clients: dict[Access, Any] = {}
        self._lock = threading.Lock()
        self._delegation = DelegationKeys()
        self._hns: bool | None = {"directory": True, "container": False}.get(config.sas_scope)

    @property
    def where(self) -> str:
        """`az://container/prefix on account NAME` for messages."""
        return f"{self.root} (account {self.identity.account_name})"

    def _client(self, access: Access) -> Any:
        """The container client for `access`; with a broker, reads use a read-only SAS until a write needs more."""
        with self._lock:
            if access == "read" and "write" in self._clients:
                return self._clients["write"]
            if access not in self._clients:
                if self._broker is None and self._clients:  # one identity serves both
                    self._clients[access] = next(iter(self._clients.values()))
                else:
                    credential = (brokered_credential(self._broker, access) if self._broker is not None
                                  else own_credential(self.identity, self._token_credential))
                    self._clients[access] = container_client(self.identity, self.container, credential,
                                                             max_attempts=self.config.max_attempts,
                                                             chunk_size=self.config.read_chunk_size)
            return self._clients[access]

    def _name(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key:
            raise KitaruUsageError(f"invalid artifact key {key!r}: use a relative path without '..'")
        return f"{self.prefix}/{key}" if self.prefix else key

    # ------------------------------------------------------------------ writes
    def write(self, key: str, data: bytes | memoryview | Iterable[bytes]) -> None:
        """Write atomically: one Put Blob, or staged blocks committed at the end (nothing visible before)."""
        name = self._name(key)
        if_absent = key.startswith(CONTENT_ADDRESSED)
        size = self.config.block_size
        if isinstance(data, (bytes, bytearray, memoryview)):
            view = memoryview(data).cast("B")
            if view.nbytes <= self.config.single_put_threshold:
                return self._put(name, bytes(view), if_absent)
            chunks: Iterable[bytes | memoryview] = (view[i:i + size] for i in range(0, view.nbytes, size))
        else:
            chunks = data
        self._write_blocks(name, chunks, if_absent)

    def _put(self, name: str, body: bytes, if_absent: bool) -> None:
        blob = self._client("write").get_blob_client(name)
        try:
            blob.upload_blob(body, overwrite=not if_absent, max_concurrency=1)
        except Exception as exc:
            if not (if_absent and _already_exists(exc)):  # the same content is there: done
                raise backend_error(exc, f"cannot write {name!r} to {self.where}") from exc

    def _write_blocks(self, name: str, chunks: Iterable[bytes | memoryview], if_absent: bool) -> None:
        from azure.core import MatchConditions
        from azure.storage.blob import BlobBlock

        size, threshold = self.config.block_size, self.config.single_put_threshold
        blob = self._client("write").get_blob_client(name)
        nonce = uuid.uuid4().hex  # this writer's block ids: unique, all the same length
        blocks: list[Any] = []
        buf = bytearray()
        try:
            for chunk in chunks:
                buf += chunk
                if not blocks and len(buf) <= threshold:
                    continue
                while len(buf) >= size:
                    blocks.append(self._stage(blob, nonce, len(blocks), bytes(buf[:size])))
                    del buf[:size]
            if not blocks:
                return self._put(name, bytes(buf), if_absent)
            if buf:
                blocks.append(self._stage(blob, nonce, len(blocks), bytes(buf)))
            del buf
            conditions: dict[str, Any] = {"match_condition": MatchConditions.IfMissing} if if_absent else {}
            blob.commit_block_list([BlobBlock(block_id=b) for b in blocks], **conditions)
        except KitaruBackendError:
            raise
        except Exception as exc:
            if if_absent and (_already_exists(exc) or _lost_race(exc, blob)):
                return  # another writer committed the same content first
            if _is_azure(exc):
                raise backend_error(exc, f"cannot write {name!r} to {self.where}") from exc
            raise  # the producer failed: its uncommitted blocks are invisible (Azure drops them after 7 days)

    def _stage(self, blob: Any, nonce: str, index: int, body: bytes) -> str:
        block_id = f"{nonce}{index:08d}"
        try:
            blob.stage_block(block_id, body, length=len(body))
        except Exception as exc:
            raise backend_error(exc, f"cannot write {blob.blob_name!r} to {self.where}") from exc
        return block_id

    # ------------------------------------------------------------------- reads
    def open(self, key: str) -> BinaryIO:
        """Stream a blob; KitaruBackendError if it is missing."""
        blob = self._client("read").get_blob_client(self._name(key))
        try:
            try:
                first = blob.download_blob(offset=0, length=self.config.read_chunk_size, max_concurrency=1)
            except Exception as exc:
                if getattr(exc, "status_code", None) != 416:
                    raise
                first = blob.download_blob(max_concurrency=1)  # an empty blob has no byte 0 to range over
        except Exception as exc:
            if is_missing(exc, blob_only=True):
                raise KitaruBackendError(f"artifact {key!r} is missing from {self.where}") from None
            raise backend_error(exc, f"cannot read artifact {key!r} from {self.where}") from exc
        return BlobReader(blob, first, self.config.read_chunk_size)  # type: ignore[return-value]

    def exists(self, key: str) -> bool:
        """Whether a (committed) blob exists under `key`."""
        blob = self._client("read").get_blob_client(self._name(key))
        try:
            blob.get_blob_properties()
        except Exception as exc:
            if is_missing(exc, blob_only=True):
                return False
            raise backend_error(exc, f"cannot check {key!r} in {self.where}") from exc
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in lexicographic order (committed blobs only)."""
        base = f"{self.prefix}/" if self.prefix else ""
        try:
            for props in self._client("read").list_blobs(name_starts_with=base + prefix):
                yield props.name[len(base):]
        except Exception as exc:
            raise backend_error(exc, f"cannot list {prefix!r} in {self.where}") from exc

    def delete(self, key: str) -> None:
        """Delete a blob; deleting a missing blob is not an error."""
        try:
            self._client("write").delete_blob(self._name(key))
        except Exception as exc:
            if not is_missing(exc, blob_only=True):
                raise backend_error(exc, f"cannot delete {key!r} from {self.where}") from exc

    def read_url(self, key: str, *, ttl: int = 300) -> str:
        """A read-only SAS URL for one blob, valid `ttl` seconds: browsers fetch previews with it straight from
        the account (inline previews from another origin need the account's CORS rule, downloads do not).
        Signed with the account key or a user delegation key, as minted credentials are."""
        from datetime import datetime, timedelta, timezone
        from urllib.parse import quote

        if not 1 <= ttl <= MAX_TTL:
            raise KitaruUsageError(f"ttl must be between 1 and {MAX_TTL} seconds for an azure read URL, got {ttl}")
        name = self._name(key)
        ident = self.identity
        if ident.kind in ("sas", "brokered"):
            raise KitaruUsageError(f"the azure artifact store {self.root} cannot sign read URLs with a SAS token:"
                                   " give the server an account key (a secret reference) or an Azure AD identity")
        delegation = None
        if ident.kind == "aad":
            try:
                until = datetime.now(timezone.utc) + timedelta(seconds=ttl)
                delegation = self._delegation.get(self._service(), until)
            except Exception as exc:  # fail closed
                raise backend_error(exc, f"cannot get a user delegation key for {self.where}") from exc
        token = blob_read_sas(account_name=ident.account_name, account_url=ident.account_url,
                              container=self.container, blob=name, ttl=ttl, account_key=ident.account_key,
                              delegation_key=delegation)
        return f"{ident.account_url.rstrip('/')}/{quote(self.container)}/{quote(name)}?{token}"

    # ------------------------------------------------------------- credentials
    def mint_credentials(self, scope: str, *, access: Access = "read", ttl: int = 900) -> Credentials:
        """A SAS for `<prefix>/<scope>`: a directory SAS on hierarchical-namespace accounts, else a container SAS."""
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise KitaruUsageError(f"ttl must be between {MIN_TTL} and {MAX_TTL} seconds for azure, got {ttl}")
        if access not in ("read", "write"):
            raise KitaruUsageError(f"access must be 'read' or 'write', got {access!r}")
        if any(c in scope for c in "*?"):
            raise KitaruUsageError(f"invalid scope {scope!r}: wildcards are not allowed")
        if scope.strip("/"):
            self._name(scope.strip("/"))  # same rules as keys: relative, no '..'
        scoped = "/".join(p for p in (self.prefix, scope.strip("/")) if p)
        ident = self.identity
        if ident.kind in ("sas", "brokered"):
            raise KitaruUsageError(f"the azure artifact store {self.root} cannot mint credentials with a SAS token:"
                                   " give the server an account key (a secret reference) or an Azure AD identity")
        directory = scoped if scoped and self._hierarchical() else ""
        if self.config.sas_scope == "directory" and not directory:
            raise KitaruUsageError(f"sas_scope is 'directory' but {self.root} has no prefix to scope to")
        delegation = None
        if ident.kind == "aad":
            from datetime import datetime, timedelta, timezone

            service = self._service()
            try:
                delegation = self._delegation.get(service, datetime.now(timezone.utc) + timedelta(seconds=ttl))
            except Exception as exc:  # fail closed: never hand out anything broader
                raise backend_error(exc, f"cannot get a user delegation key for {self.where}") from exc
        grant = sign(account_name=ident.account_name, account_url=ident.account_url, container=self.container,
                     directory=directory, access=access, ttl=ttl, account_key=ident.account_key,
                     delegation_key=delegation)
        values = {"sas_token": grant.token, "account_name": ident.account_name, "account_url": ident.account_url,
                  "container": self.container, "prefix": scoped, "resource": grant.resource,
                  "signed_with": grant.signed_with}
        return Credentials("azure", access, scope, grant.expires_at, values)

    def _service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(self.identity.account_url, credential=own_credential(self.identity,
                                                                                       self._token_credential))

    def _hierarchical(self) -> bool:
        """Whether the account has a hierarchical namespace (asked once; `sas_scope` can state it)."""
        if self._hns is None:
            try:
                info = self._client("read").get_account_information()
            except Exception as exc:
                raise backend_error(exc, f"cannot tell whether {self.where} has a hierarchical namespace (set"
                                         " `sas_scope: container` or `sas_scope: directory` to say)") from exc
            self._hns = bool(info.get("is_hns_enabled"))
        return self._hns


def _is_azure(exc: BaseException) -> bool:
    from azure.core.exceptions import AzureError

    return isinstance(exc, AzureError)


def _lost_race(exc: BaseException, blob: Any) -> bool:
    """A concurrent writer of the same content committed first (Azure then drops our uncommitted blocks)."""
    if error_code(exc) not in ("InvalidBlockList", "InvalidBlobOrBlock"):
        return False
    try:
        return bool(blob.exists())
    except Exception as probe:  # noqa: BLE001 - report the original error
        logging.getLogger("kitaru.azure").debug("cannot tell whether another writer won the race: %s", probe)
        return False


def _already_exists(exc: BaseException) -> bool:
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

    code = error_code(exc)
    return isinstance(exc, (ResourceExistsError, ResourceModifiedError)) and code in ("BlobAlreadyExists",
                                                                                      "ConditionNotMet")
