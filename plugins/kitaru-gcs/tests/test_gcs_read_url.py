"""Brokered read URLs for GCS: V4-signed by the store's own service account, GET only, short-lived; the web
UI redirects browsers to them and never proxies the bytes. fake-gcs-server serves signed URLs without checking
signatures, so the test checks the signature itself with the service account's public key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from gcs_helpers import stack_yaml
from google_fake import GoogleFake

import kitaru
from kitaru.errors import KitaruUsageError
from kitaru.stacks import register_stack, resolve_stack
from kitaru.testing import PREVIEWED, ui_brokered_download
from tests.support import http

EMAIL = "kitaru-server@test-project.iam.gserviceaccount.com"


def _stack(gcs_url: str, bucket: str, google: GoogleFake, key: str) -> None:
    kitaru.create_secret("gcp-sa", service_account_key=key)
    register_stack("gcp.yaml", text=stack_yaml(gcs_url, bucket, f"{google.url}/v1/token"))


def _verify_v4(url: str, key_json: str) -> dict[str, str]:
    """Check a V4 signed URL's RSA-SHA256 signature against the key's public half; its query parameters."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = bytes.fromhex(query.pop("X-Goog-Signature"))
    canonical_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(query.items()))
    canonical = "\n".join(["GET", parts.path, canonical_query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"])
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["GOOG4-RSA-SHA256", query["X-Goog-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    private = serialization.load_pem_private_key(json.loads(key_json)["private_key"].encode(), password=None)
    private.public_key().verify(signature, to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
    return query


def test_read_url_is_signed_get_only_and_short_lived(gcs_url: str, bucket: str, google: GoogleFake,
                                                     server_key: str) -> None:
    _stack(gcs_url, bucket, google, server_key)
    store = resolve_stack("gcp").artifact_store
    store.write("blobs/sha256/ab/report", b"signed bytes")
    url = store.read_url("blobs/sha256/ab/report", ttl=120)
    query = _verify_v4(url, server_key)
    assert query["X-Goog-Expires"] == "120" and query["X-Goog-Credential"].startswith(EMAIL + "/")
    assert urlsplit(url).path == f"/{bucket}/kitaru/blobs/sha256/ab/report"
    assert http.get(url).content == b"signed bytes"
    with pytest.raises(Exception):  # noqa: B017 - a URL whose expiry was changed no longer verifies
        _verify_v4(url.replace("X-Goog-Expires=120", "X-Goog-Expires=7200"), server_key)
    with pytest.raises(KitaruUsageError, match="ttl"):
        store.read_url("blobs/sha256/ab/report", ttl=0)
    with pytest.raises(KitaruUsageError, match="invalid artifact key"):
        store.read_url("../other-prefix/secret")


def test_anonymous_store_cannot_sign(gcs_url: str, bucket: str) -> None:
    from kitaru_gcs import GCSArtifactStoreConfig
    from kitaru_gcs._store import GCSArtifactStore

    store = GCSArtifactStore(GCSArtifactStoreConfig(path=f"gs://{bucket}/k", endpoint_url=gcs_url, anonymous=True))
    with pytest.raises(KitaruUsageError, match="sign"):
        store.read_url("blobs/x")


def test_ui_preview_redirects_to_a_signed_gcs_url(gcs_url: str, bucket: str, google: GoogleFake, server_key: str,
                                                 kitaru_home: Path) -> None:
    pytest.importorskip("jinja2")
    _stack(gcs_url, bucket, google, server_key)
    url = ui_brokered_download(kitaru_home, "gcp")
    assert url.startswith(f"{gcs_url}/{bucket}/kitaru/blobs/") and "X-Goog-Signature=" in url
    assert _verify_v4(url, server_key)["X-Goog-Expires"] == "300"
    assert http.get(url).content == PREVIEWED.encode()  # the browser's fetch, straight from the bucket
