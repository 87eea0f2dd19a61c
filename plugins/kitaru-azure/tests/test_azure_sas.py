"""Minted SAS tokens on Azurite, which checks SAS signatures, permissions and expiry: a reader's token cannot
write, an expired or tampered token is refused, and a brokered store re-mints before expiry."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import pytest
from azure_helpers import Azurite, blob_names, make_store

from kitaru.errors import KitaruBackendError, KitaruUsageError
from kitaru.plugins import Credentials


def _client(az: Azurite, container: str, token: str) -> Any:
    from azure.storage.blob import ContainerClient

    return ContainerClient.from_container_url(f"{az.url}/{container}?{token}")


def _status(fn: Any) -> str:
    from azure.core.exceptions import HttpResponseError

    try:
        fn()
    except HttpResponseError as exc:
        from kitaru_azure._errors import error_code

        return f"{exc.status_code} {error_code(exc)}"
    return "OK"


def _fields(token: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(token).items()}


@pytest.mark.parametrize("access", ["read", "write"])
def test_minted_sas_allows_exactly_its_access(access: str, azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)
    store.write("runs/r1/x.txt", b"data")
    creds = store.mint_credentials("runs/r1", access=access, ttl=600)  # type: ignore[arg-type]
    v = creds.values
    assert (v["resource"], v["signed_with"], v["prefix"], v["container"]) == (
        "container", "account-key", "kitaru/runs/r1", container)  # Azurite has no hierarchical namespace
    fields = _fields(v["sas_token"])
    assert fields["sr"] == "c" and fields["sp"] == ("rl" if access == "read" else "rcwdl")
    assert fields["spr"] == "https,http"  # plain HTTP only because the endpoint is a loopback emulator
    scoped = _client(azurite, container, v["sas_token"])
    assert scoped.download_blob("kitaru/runs/r1/x.txt").readall() == b"data"
    assert [b.name for b in scoped.list_blobs(name_starts_with="kitaru/")] == ["kitaru/runs/r1/x.txt"]
    write = _status(lambda: scoped.upload_blob("kitaru/runs/r1/new.txt", b"new"))
    delete = _status(lambda: scoped.delete_blob("kitaru/runs/r1/x.txt"))
    if access == "read":
        assert write == "403 AuthorizationPermissionMismatch" and delete == "403 AuthorizationPermissionMismatch"
        assert blob_names(azurite, container) == {"kitaru/runs/r1/x.txt"}
    else:
        assert write == "OK" and delete == "OK"
        assert blob_names(azurite, container) == {"kitaru/runs/r1/new.txt"}
    other = "other-" + container[-12:]
    assert _status(lambda: _client(azurite, other, v["sas_token"]).upload_blob("x", b"x")).startswith("403")


def test_an_expired_sas_is_refused(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)
    store.write("x", b"data")
    token = store.mint_credentials("", access="read", ttl=2).values["sas_token"]
    client = _client(azurite, container, token)
    assert client.download_blob("kitaru/x").readall() == b"data"
    time.sleep(3.2)
    assert _status(lambda: client.download_blob("kitaru/x").readall()) == "403 AuthorizationFailure"


def test_a_tampered_sas_is_refused(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)
    store.write("x", b"data")
    token = store.mint_credentials("", access="read", ttl=600).values["sas_token"]
    fields = _fields(token)
    forged = {
        "signature": token.replace("sig=", "sig=AAAA"),
        "permissions raised": token.replace("sp=rl", "sp=rcwdl"),
        "expiry extended": token.replace(f"se={fields['se'][:4]}", "se=2099").replace(":", "%3A"),
    }
    for what, bad in forged.items():
        assert bad != token, what
        client = _client(azurite, container, bad)
        assert _status(lambda: client.upload_blob("kitaru/evil", b"x")).startswith("403"), what
        assert _status(lambda: client.download_blob("kitaru/x").readall()).startswith("403"), what
    assert _status(lambda: _client(azurite, container, "").download_blob("kitaru/x").readall()).startswith("40")
    assert blob_names(azurite, container) == {"kitaru/x"}


def test_https_only_and_directory_sas_outside_emulators() -> None:
    """For a real account the token is HTTPS-only; with a hierarchical namespace it covers only the prefix."""
    from kitaru_azure._config import AzureArtifactStoreConfig
    from kitaru_azure._store import AzureArtifactStore

    key = "a2V5" * 22
    for scope, resource, extra in (("container", "c", {}), ("directory", "d", {"sdd": "3"})):
        store = AzureArtifactStore(AzureArtifactStoreConfig(path="az://box/team/kitaru", account_name="acct1",
                                                            account_key=key, sas_scope=scope))
        creds = store.mint_credentials("runs", access="read", ttl=900)
        f = _fields(creds.values["sas_token"])
        assert f["spr"] == "https" and f["sr"] == resource and f["sp"] == "rl", f
        assert all(f[k] == v for k, v in extra.items()), f
        assert creds.values["account_url"] == "https://acct1.blob.core.windows.net"
        assert creds.values["resource"] == {"c": "container", "d": "directory"}[resource]
    store = AzureArtifactStore(AzureArtifactStoreConfig(path="az://box", account_name="acct1", account_key=key,
                                                        sas_scope="directory"))
    with pytest.raises(KitaruUsageError, match="no prefix"):
        store.mint_credentials("")


def test_mint_limits_and_scope_validation(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)
    for bad_ttl in (0, 3601):
        with pytest.raises(KitaruUsageError, match="between 1 and 3600"):
            store.mint_credentials("x", ttl=bad_ttl)
    for bad_scope in ("runs/*", "../other", "a/../../b"):
        with pytest.raises(KitaruUsageError):
            store.mint_credentials(bad_scope)
    sas_only = make_store(azurite, container, account_key=None,
                          sas_token=store.mint_credentials("", access="write").values["sas_token"])
    sas_only.write("via-sas", b"ok")  # a store may act with a SAS token ...
    with pytest.raises(KitaruUsageError, match="cannot mint credentials with a SAS token"):
        sas_only.mint_credentials("")  # ... but never passes it on


def test_brokered_store_refreshes_its_sas_before_expiry(azurite: Azurite, container: str) -> None:
    from kitaru_azure._config import AzureArtifactStoreConfig
    from kitaru_azure._store import AzureArtifactStore

    signer = make_store(azurite, container)
    minted: list[Credentials] = []

    def broker(access: str) -> Credentials:
        minted.append(signer.mint_credentials("", access=access, ttl=3))  # type: ignore[arg-type]
        return minted[-1]

    store = AzureArtifactStore(AzureArtifactStoreConfig(path=f"az://{container}/kitaru", account_url=azurite.url),
                               broker=broker)
    assert store.identity.kind == "brokered"
    assert not store.exists("a")
    store.write("a", b"1")  # needs write: a second, write-capable SAS
    assert [c.access for c in minted] == ["read", "write"]
    time.sleep(3.5)  # both tokens have expired by now
    store.write("b", b"2" * (3 << 20))
    with store.open("a") as f:
        assert f.read() == b"1"
    assert [c.access for c in minted][2:] == ["write"]  # re-minted, not reused after expiry
    assert blob_names(azurite, container) == {"kitaru/a", "kitaru/b"}


def test_a_store_acting_with_a_read_sas_cannot_write(azurite: Azurite, container: str) -> None:
    signer = make_store(azurite, container)
    ro = make_store(azurite, container, account_key=None,
                    sas_token=signer.mint_credentials("", access="read").values["sas_token"])
    with pytest.raises(KitaruBackendError, match="permission denied"):
        ro.write("small", b"x")
    with pytest.raises(KitaruBackendError, match="permission denied"):
        ro.write("large", iter([b"y" * (9 << 20)]))
    assert blob_names(azurite, container) == set()
