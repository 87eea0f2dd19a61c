"""A server with an Azure AD identity (and no account key) mints user-delegation SAS tokens: it asks the service
for a user delegation key with its bearer token (Azurite over HTTPS with `--oauth basic`) and fails closed when
it cannot get one.

Azurite 3.35 (the last release for Node 20) predates the string-to-sign of azure-storage-blob 12.31's
user-delegation SAS, so it cannot verify these tokens: their fields are checked here, and permission, expiry and
tamper enforcement is tested with account-key SAS (test_azure_sas.py), which share the code path."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from azure_helpers import OBJECT_ID, TENANT, Azurite, StaticToken, aad_token
from kitaru_azure._config import AzureArtifactStoreConfig
from kitaru_azure._store import AzureArtifactStore

from kitaru.errors import KitaruBackendError


@pytest.fixture
def https(azurite_oauth: Azurite, monkeypatch: pytest.MonkeyPatch) -> Azurite:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", azurite_oauth.ca_file)  # trust the throwaway certificate
    return azurite_oauth


def _store(az: Azurite, credential: StaticToken, container: str = "box") -> AzureArtifactStore:
    return AzureArtifactStore(AzureArtifactStoreConfig(path=f"az://{container}/kitaru", account_url=az.url,
                                                       max_attempts=2), token_credential=credential)


def test_an_azure_ad_identity_acts_and_mints_user_delegation_sas(https: Azurite) -> None:
    identity = StaticToken(aad_token())
    store = _store(https, identity)
    assert store.identity.kind == "aad"
    store._client("write").create_container()  # the identity itself acts with bearer tokens
    store.write("x", b"hello")
    with store.open("x") as f:
        assert f.read() == b"hello"
    for access, permissions in (("read", "rl"), ("write", "rcwdl")):
        creds = store.mint_credentials("runs/r1", access=access, ttl=600)  # type: ignore[arg-type]
        assert creds.values["signed_with"] == "user-delegation" and creds.values["resource"] == "container"
        f = {k: v[0] for k, v in parse_qs(creds.values["sas_token"]).items()}
        assert (f["skoid"], f["sktid"], f["sks"]) == (OBJECT_ID, TENANT, "b")
        assert f["sp"] == permissions and f["sr"] == "c" and f["spr"] == "https" and f["sig"]
        assert f["skt"] <= f["st"] and f["ske"] >= f["se"]  # the key covers the token's lifetime
    key = store._delegation._key
    store.mint_credentials("", access="read", ttl=3600)
    assert store._delegation._key is key  # one delegation key serves many mints


def test_no_delegation_key_fails_closed(https: Azurite) -> None:
    """A token the service refuses (wrong audience): nothing is minted, and the error says so."""
    store = _store(https, StaticToken(aad_token(audience="https://management.azure.com")),)
    store._hns = False
    with pytest.raises(KitaruBackendError, match="cannot get a user delegation key"):
        store.mint_credentials("", access="read")
