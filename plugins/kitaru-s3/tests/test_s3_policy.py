"""The policy that minting sends to STS allows exactly the store's bucket/prefix (checked by an evaluator)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from s3_helpers import make_store

import kitaru_s3._store as store_module
from kitaru.errors import KitaruUsageError
from kitaru_s3._policy import scoped_policy
from kitaru_s3.testing import allows, evaluate


def _obj(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def test_evaluator_basics() -> None:
    p = {"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/a/*"},
                       {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/a/secret/*"}]}
    assert evaluate(p, "s3:GetObject", "arn:aws:s3:::b/a/x") == "allow"
    assert evaluate(p, "s3:GetObject", "arn:aws:s3:::b/a/secret/x") == "deny"
    assert evaluate(p, "s3:PutObject", "arn:aws:s3:::b/a/x") == "implicit-deny"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every AssumeRole request the store makes (captured before it is sent)."""
    calls: list[dict[str, Any]] = []
    real = store_module.client

    def spy(service: str, *args: Any, **kwargs: Any) -> Any:
        c = real(service, *args, **kwargs)
        if service == "sts":
            c.meta.events.register("provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(dict(params)))
        return c

    monkeypatch.setattr(store_module, "client", spy)
    return calls


@pytest.mark.parametrize("access", ["read", "write"])
def test_minted_policy_allows_only_the_prefix(access: str, sent: list[dict[str, Any]], moto_url: str, bucket: str,
                                              broker_role: str) -> None:
    store = make_store(moto_url, bucket, broker_role)
    creds = store.mint_credentials("runs/r1", access=access, ttl=1200)  # type: ignore[arg-type]
    assert creds.values["prefix"] == "kitaru/runs/r1" and creds.values["bucket"] == bucket
    (call,) = sent
    assert call["RoleArn"] == broker_role and call["DurationSeconds"] == 1200
    policy = json.loads(call["Policy"])
    inside, outside = "kitaru/runs/r1/blobs/sha256/ab/abc", "kitaru/runs/r2/blobs/x"
    assert allows(policy, "s3:GetObject", _obj(bucket, inside))
    for key in (outside, "kitaru/runs/r1x/y", "kitaru/x", "other/runs/r1/x"):
        assert not allows(policy, "s3:GetObject", _obj(bucket, key)), key
    assert not allows(policy, "s3:GetObject", _obj("another-bucket", inside))
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert allows(policy, action, _obj(bucket, inside)) == (access == "write")
        assert not allows(policy, action, _obj(bucket, outside))
    listing = f"arn:aws:s3:::{bucket}"
    assert allows(policy, "s3:ListBucket", listing, {"s3:prefix": "kitaru/runs/r1/blobs/"})
    assert not allows(policy, "s3:ListBucket", listing, {"s3:prefix": "kitaru/runs/"})
    assert not allows(policy, "s3:ListBucket", listing, {"s3:prefix": "kitaru/runs/r2/"})
    assert not allows(policy, "s3:ListBucket", listing)
    assert not allows(policy, "s3:DeleteBucket", listing) and not allows(policy, "iam:CreateUser", "*")


def test_mint_limits_and_scope_validation(moto_url: str, bucket: str, broker_role: str) -> None:
    store = make_store(moto_url, bucket, broker_role)
    for bad_ttl in (899, 3601):
        with pytest.raises(KitaruUsageError, match="between 900 and 3600"):
            store.mint_credentials("x", ttl=bad_ttl)
    for bad_scope in ("runs/*", "../other", "a/../../b"):
        with pytest.raises(KitaruUsageError):
            store.mint_credentials(bad_scope)
    with pytest.raises(KitaruUsageError, match="no role_arn"):
        make_store(moto_url, bucket).mint_credentials("x")
    whole = store.mint_credentials("")
    assert whole.values["prefix"] == "kitaru" and whole.expires_at is not None


def test_policy_for_bucket_root_and_partitions() -> None:
    p = scoped_policy("b", "", "read", region="cn-north-1")
    assert p["Statement"][0]["Resource"] == "arn:aws-cn:s3:::b/*" and "Condition" not in p["Statement"][1]
    assert allows(p, "s3:GetObject", "arn:aws-cn:s3:::b/anything")
    assert not allows(p, "s3:GetObject", "arn:aws:s3:::b/anything")


@pytest.mark.parametrize("access", ["read", "write"])
def test_listing_a_prefix_never_lists_a_sibling_that_shares_its_name(access: str) -> None:
    """`kitaru` must not list `kitaru-prod/` (the condition keeps the trailing slash)."""
    policy = scoped_policy("b", "kitaru", access)  # type: ignore[arg-type]
    listing = "arn:aws:s3:::b"
    for inside in ("kitaru/", "kitaru/blobs/", "kitaru/blobs/sha256/ab/"):
        assert allows(policy, "s3:ListBucket", listing, {"s3:prefix": inside}), inside
    for outside in ("kitaru", "kitaru-prod", "kitaru-prod/", "kitaru-prod/blobs/", "kitarux/", ""):
        assert not allows(policy, "s3:ListBucket", listing, {"s3:prefix": outside}), outside
    assert not allows(policy, "s3:GetObject", _obj("b", "kitaru-prod/blobs/x"))
