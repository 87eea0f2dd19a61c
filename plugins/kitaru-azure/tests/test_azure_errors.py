"""A missing container, a permission error and an unreachable endpoint are clear KitaruBackendErrors and leave no
blob visible; 5xx answers are retried with backoff; a failed commit publishes nothing."""

from __future__ import annotations

import time

import pytest
from azure_helpers import Azurite, blob_names, make_store
from azure_proxy import fault_proxy

from kitaru.errors import KitaruBackendError

BIG = 9 << 20  # above the single-put threshold: staged blocks + a commit


def test_a_missing_container_is_a_clear_error(azurite: Azurite) -> None:
    store = make_store(azurite, "no-such-container")
    for attempt in (lambda: store.write("x", b"1"), lambda: store.write("y", iter([b"2" * BIG])),
                    lambda: store.open("x"), lambda: store.exists("x"), lambda: list(store.list())):
        with pytest.raises(KitaruBackendError, match="the container does not exist.*az storage container create"):
            attempt()


def test_a_permission_error_is_a_clear_error_and_writes_nothing(azurite: Azurite, container: str) -> None:
    wrong = make_store(azurite, container, account_key="d3Jvbmcta2V5" * 7 + "AAAA")
    for attempt in (lambda: wrong.write("x", b"1"), lambda: wrong.write("y", iter([b"2" * BIG])),
                    lambda: wrong.open("x"), lambda: wrong.exists("x")):
        with pytest.raises(KitaruBackendError, match="permission denied"):
            attempt()
    assert blob_names(azurite, container) == set()


def test_an_unreachable_endpoint_is_a_clear_error(container: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    store = make_store(Azurite(f"http://127.0.0.1:{port}/devstoreaccount1", "devstoreaccount1", "a2V5"), container,
                       max_attempts=2)
    started = time.monotonic()
    with pytest.raises(KitaruBackendError, match="unreachable.*account_url"):
        store.write("x", b"1")
    with pytest.raises(KitaruBackendError, match="unreachable"):
        store.open("x")
    assert time.monotonic() - started < 30


def test_5xx_answers_are_retried(azurite: Azurite, container: str) -> None:
    with fault_proxy(azurite.url) as proxy:
        store = make_store(Azurite(proxy.url, azurite.account, azurite.key), container, max_attempts=4)
        proxy.fail(503, times=2, when=lambda method, path: method == "PUT")
        proxy.fail(500, times=1, when=lambda method, path: method == "GET")
        store.write("retried", b"payload")
        with store.open("retried") as f:
            assert f.read() == b"payload"
        statuses = [s for _, _, s in proxy.seen]
        assert statuses.count(503) == 2 and statuses.count(500) == 1 and statuses[-1] in (200, 206)


def test_a_failed_commit_publishes_nothing_and_keeps_the_old_blob(azurite: Azurite, container: str) -> None:
    with fault_proxy(azurite.url) as proxy:
        store = make_store(Azurite(proxy.url, azurite.account, azurite.key), container, max_attempts=2)
        store.write("kept", b"old")
        proxy.fail(500, times=10, when=lambda method, path: "comp=blocklist" in path)
        for key in ("fresh", "kept"):
            with pytest.raises(KitaruBackendError, match="cannot write"):
                store.write(key, iter([b"n" * BIG]))
        assert blob_names(azurite, container) == {"kitaru/kept"}
        with store.open("kept") as f:
            assert f.read() == b"old"
        staged = [p for m, p, s in proxy.seen if "comp=block&" in p and s == 201]
        assert len(staged) == 4  # an 8 MiB and a 1 MiB block per write were staged, then each commit failed
