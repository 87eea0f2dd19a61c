"""Minting: the exact token exchange the server sends to STS (a loopback fake), the access boundary it
asks for (evaluated against allowed and forbidden names), TTLs, and failing closed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from cel_eval import Request, allowed, evaluate
from gcs_helpers import make_store
from google_fake import GoogleFake
from kitaru_gcs._downscope import access_boundary, condition

from kitaru.errors import KitaruBackendError, KitaruUsageError

BUCKET = "acme-agents"


@pytest.fixture
def fresh_google() -> GoogleFake:
    with GoogleFake() as fake:
        yield fake  # type: ignore[misc]


def test_the_sts_request_is_a_token_exchange_with_the_prefix_boundary(fresh_google: GoogleFake) -> None:
    g = fresh_google
    store = make_store("http://127.0.0.1:9", BUCKET, key=g.service_account_key(), sts=f"{g.url}/v1/token")
    before = datetime.now(UTC)
    creds = store.mint_credentials("runs/r1", access="write", ttl=600)
    assert len(g.oauth_requests) == 1 and len(g.sts_requests) == 1
    form = g.sts_requests[0]
    own = form["subject_token"]
    assert own.startswith("server-own-token-")
    assert {k: v for k, v in form.items() if k not in ("subject_token", "options")} == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
    }
    # `options` is URL-encoded JSON inside the form, as STS expects it
    assert json.loads(unquote(form["options"])) == {"accessBoundary": {"accessBoundaryRules": [{
        "availableResource": f"//storage.googleapis.com/projects/_/buckets/{BUCKET}",
        "availablePermissions": ["inRole:roles/storage.objectCreator", "inRole:roles/storage.objectViewer"],
        "availabilityCondition": {
            "title": "kitaru-prefix",
            "expression": f"resource.name.startsWith('projects/_/buckets/{BUCKET}/objects/kitaru/runs/r1/')"
                          " || api.getAttribute('storage.googleapis.com/objectListPrefix', '')"
                          ".startsWith('kitaru/runs/r1/')"}}]}}
    # the client gets the downscoped token, never the server's own
    assert creds.values["access_token"].startswith("downscoped-token-") and own not in creds.values.values()
    assert creds.values["bucket"] == BUCKET and creds.values["prefix"] == "kitaru/runs/r1"
    assert before + timedelta(seconds=590) < creds.expires_at <= datetime.now(UTC) + timedelta(seconds=600)
    read = store.mint_credentials("", access="read", ttl=900)
    options = json.loads(unquote(g.sts_requests[1]["options"]))["accessBoundary"]["accessBoundaryRules"][0]
    assert options["availablePermissions"] == ["inRole:roles/storage.objectViewer"]
    assert "objects/kitaru/'" in options["availabilityCondition"]["expression"]
    assert read.values["prefix"] == "kitaru"
    assert len(g.oauth_requests) == 1, "the server's own token is reused while valid"


def test_expiry_is_the_earlier_of_ttl_and_the_token_lifetime(fresh_google: GoogleFake) -> None:
    fresh_google.sts_lifetime = 300  # the downscoped token lives as long as the source token has left
    store = make_store("http://127.0.0.1:9", BUCKET, key=fresh_google.service_account_key(),
                       sts=f"{fresh_google.url}/v1/token")
    creds = store.mint_credentials("", access="read", ttl=3600)
    assert creds.expires_at <= datetime.now(UTC) + timedelta(seconds=300)
    for bad in (0, 59, 3601):
        with pytest.raises(KitaruUsageError, match="ttl"):
            store.mint_credentials("", ttl=bad)
    for bad in ("../other", "a/../../x", "a/*", "it's"):
        with pytest.raises(KitaruUsageError):
            store.mint_credentials(bad)


@pytest.mark.parametrize("access", ["read", "write"])
def test_the_boundary_allows_only_the_prefix(access: str) -> None:
    boundary = access_boundary(BUCKET, "kitaru", access)  # type: ignore[arg-type]
    get = "storage.objects.get"
    for name in ("kitaru/blobs/sha256/ab/abc", "kitaru/x", "kitaru/a/b/c"):
        assert allowed(boundary, Request(BUCKET, get, object_name=name)), name
    for name in ("kitaru-prod/blobs/x", "kitaru", "kitarux/y", "other/kitaru/x", "Kitaru/x", "/kitaru/x", "x"):
        assert not allowed(boundary, Request(BUCKET, get, object_name=name)), name
    assert not allowed(boundary, Request("acme-agents-2", get, object_name="kitaru/x")), "another bucket"
    assert not allowed(boundary, Request("other", get, object_name="kitaru/x"))
    lst = "storage.objects.list"
    assert allowed(boundary, Request(BUCKET, lst, list_prefix="kitaru/"))
    assert allowed(boundary, Request(BUCKET, lst, list_prefix="kitaru/blobs/"))
    for prefix in ("", "kitaru", "kitaru-prod/", "k", None):
        assert not allowed(boundary, Request(BUCKET, lst, list_prefix=prefix)), prefix
    create = Request(BUCKET, "storage.objects.create", object_name="kitaru/blobs/new")
    assert allowed(boundary, create) is (access == "write")
    assert not allowed(boundary, Request(BUCKET, "storage.objects.create", object_name="kitaru-prod/new"))
    # neither may delete or overwrite (create-once blobs), nor touch bucket metadata
    for perm in ("storage.objects.delete", "storage.objects.update", "storage.buckets.get"):
        assert not allowed(boundary, Request(BUCKET, perm, object_name="kitaru/blobs/x")), perm


def test_a_scope_narrows_further_and_an_empty_prefix_means_the_bucket() -> None:
    scoped = access_boundary(BUCKET, "kitaru/runs/r1", "read")
    assert allowed(scoped, Request(BUCKET, "storage.objects.get", object_name="kitaru/runs/r1/x"))
    assert not allowed(scoped, Request(BUCKET, "storage.objects.get", object_name="kitaru/runs/r10/x"))
    assert not allowed(scoped, Request(BUCKET, "storage.objects.get", object_name="kitaru/runs/r2/x"))
    whole = access_boundary(BUCKET, "", "read")
    assert allowed(whole, Request(BUCKET, "storage.objects.get", object_name="anything"))
    assert not allowed(whole, Request("other-bucket", "storage.objects.get", object_name="anything"))


def test_the_evaluator_refuses_forms_it_does_not_know() -> None:
    with pytest.raises(ValueError):
        evaluate("resource.name.endsWith('x')", Request(BUCKET, "storage.objects.get", object_name="x"))
    with pytest.raises(KitaruBackendError):
        condition(BUCKET, "it's")  # never reaches CEL: config validation forbids quotes too


def test_fails_closed_when_sts_refuses(fresh_google: GoogleFake) -> None:
    fresh_google.refuse_sts = "the subject token cannot be downscoped"
    store = make_store("http://127.0.0.1:9", BUCKET, key=fresh_google.service_account_key(),
                       sts=f"{fresh_google.url}/v1/token")
    with pytest.raises(KitaruBackendError, match="refused to downscope") as info:
        store.mint_credentials("", access="write")
    own = fresh_google.sts_requests[0]["subject_token"]
    assert own not in str(info.value) and "never hands out the server's own token" in str(info.value)


def test_fails_closed_without_a_downscopable_identity(gcs_url: str, bucket: str) -> None:
    anonymous = make_store(gcs_url, bucket)  # anonymous: true (emulators)
    with pytest.raises(KitaruBackendError, match="cannot mint"):
        anonymous.mint_credentials("", access="read")
    from kitaru_gcs._config import GCSArtifactStoreConfig
    from kitaru_gcs._store import GCSArtifactStore

    ambient = GCSArtifactStore(GCSArtifactStoreConfig(path=f"gs://{bucket}/kitaru", endpoint_url=gcs_url))
    with pytest.raises(KitaruBackendError, match="no Google Cloud identity"):
        ambient.mint_credentials("", access="read")


def test_a_broken_sts_answer_is_refused(fresh_google: GoogleFake, monkeypatch: pytest.MonkeyPatch) -> None:
    """An STS that echoes the subject token back (or sends no lifetime) is not trusted."""
    store = make_store("http://127.0.0.1:9", BUCKET, key=fresh_google.service_account_key(),
                       sts=f"{fresh_google.url}/v1/token")
    real = fresh_google._handle

    def echo(path: str, body: str, auth: str):  # type: ignore[no-untyped-def]
        status, payload = real(path, body, auth)
        if path == "/v1/token":
            import urllib.parse

            payload["access_token"] = dict(urllib.parse.parse_qsl(body))["subject_token"]
        return status, payload

    monkeypatch.setattr(fresh_google, "_handle", echo)
    with pytest.raises(KitaruBackendError, match="no downscoped access token"):
        store.mint_credentials("", access="read")
