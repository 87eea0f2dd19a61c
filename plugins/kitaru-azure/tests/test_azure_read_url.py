"""Brokered read URLs for Azure: a SAS for exactly one blob, read-only, short-lived; Azurite enforces it (a
write, another blob, a tampered signature and an expired link are refused). The web UI redirects browsers to
them and never proxies the bytes."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from azure_helpers import Azurite, make_store

import kitaru
from kitaru.errors import KitaruUsageError
from kitaru.stacks import register_stack
from kitaru.testing import PREVIEWED, ui_brokered_download
from tests.support import http


def test_read_url_reads_one_blob_only_and_expires(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container)
    store.write("blobs/sha256/ab/report", b"sas bytes")
    store.write("blobs/sha256/cd/other", b"other bytes")
    url = store.read_url("blobs/sha256/ab/report", ttl=600)
    fields = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert fields["sr"] == "b" and fields["sp"] == "r" and urlsplit(url).path.endswith(
        f"/{container}/kitaru/blobs/sha256/ab/report")
    assert http.get(url).content == b"sas bytes"
    headers = {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-08-06"}
    assert http.put(url, content=b"overwrite", headers=headers).status_code == 403  # read-only
    other = url.replace("/ab/report?", "/cd/other?")
    assert http.get(other).status_code == 403  # the signature covers one blob
    assert http.get(url.replace("sig=", "sig=AAAA")).status_code == 403
    assert store.open("blobs/sha256/ab/report").read() == b"sas bytes"  # nothing was overwritten

    short = store.read_url("blobs/sha256/ab/report", ttl=1)
    assert http.get(short).status_code == 200
    deadline = time.monotonic() + 15
    while http.get(short).status_code != 403:  # Azurite checks expiry (it may be a second or two late)
        assert time.monotonic() < deadline, "the 1 s link never expired"
        time.sleep(0.2)
    with pytest.raises(KitaruUsageError, match="ttl"):
        store.read_url("blobs/sha256/ab/report", ttl=0)
    with pytest.raises(KitaruUsageError, match="invalid artifact key"):
        store.read_url("../escape")


def test_sas_token_store_cannot_sign(azurite: Azurite, container: str) -> None:
    store = make_store(azurite, container, account_key=None, sas_token="sv=2021-08-06&sig=x")
    with pytest.raises(KitaruUsageError, match="cannot sign"):
        store.read_url("blobs/x")


def test_ui_preview_redirects_to_a_blob_sas(azurite: Azurite, container: str, kitaru_home: Path) -> None:
    pytest.importorskip("jinja2")
    kitaru.create_secret("az-key", account_key=azurite.key)
    register_stack("az.yaml", text=(f"name: az\norchestrator: {{flavor: local}}\n"
                                    f"artifact_store: {{flavor: azure, path: az://{container}/kitaru,"
                                    f" account_url: {azurite.url}, account_key: {{secret: az-key}}}}\n"))
    url = ui_brokered_download(kitaru_home, "az")
    assert url.startswith(f"{azurite.url}/{container}/kitaru/blobs/") and "sr=b" in url and "sp=r" in url
    assert http.get(url).content == PREVIEWED.encode()  # the browser's fetch, straight from the account
