"""With moto's IAM enforcement on, credentials from a role whose policy is the prefix policy stay in the prefix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from s3_helpers import REGION, boto

from kitaru.errors import KitaruBackendError
from kitaru_s3._config import S3ArtifactStoreConfig
from kitaru_s3._policy import scoped_policy
from kitaru_s3._store import S3ArtifactStore

ACCOUNT = "123456789012"


@pytest.fixture
def broker(moto_url: str, bucket: str) -> dict[str, Any]:
    """An admin IAM user (the server's identity) and two roles whose policies are the minted prefix policies."""
    iam = boto("iam", moto_url)
    suffix = bucket[-8:]
    user = f"broker-{suffix}"
    iam.create_user(UserName=user)
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=json.dumps(admin))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"}}]}
    roles = {}
    for access in ("read", "write"):
        name = f"kitaru-{access}-{suffix}"
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="prefix",
                            PolicyDocument=json.dumps(scoped_policy(bucket, "kitaru/runs/r1", access)))  # type: ignore[arg-type]
        roles[access] = arn
    s3 = boto("s3", moto_url)
    for k in ("kitaru/runs/r1/x.txt", "kitaru/runs/r2/y.txt", "other/z.txt"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"data")
    return {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"], "roles": roles}


@pytest.fixture
def enforced(moto_url: str, broker: dict[str, Any]) -> Iterator[None]:
    requests.post(f"{moto_url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield
    finally:
        requests.post(f"{moto_url}/moto-api/reset-auth", data=b"inf", timeout=10).raise_for_status()


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", exc))


def _try(fn: Any) -> str:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return "DENIED " + _code(exc)
    return "ALLOWED"


@pytest.mark.parametrize("access", ["read", "write"])
def test_minted_credentials_are_denied_outside_the_prefix(access: str, moto_url: str, bucket: str,
                                                           broker: dict[str, Any], enforced: None) -> None:
    store = S3ArtifactStore(S3ArtifactStoreConfig(
        path=f"s3://{bucket}/kitaru", endpoint_url=moto_url, region=REGION, aws_access_key_id=broker["key_id"],
        aws_secret_access_key=broker["secret"], role_arn=broker["roles"][access]))
    creds = store.mint_credentials("runs/r1", access=access)  # type: ignore[arg-type]
    v = creds.values
    scoped = boto("s3", moto_url, aws_access_key_id=v["aws_access_key_id"],
                  aws_secret_access_key=v["aws_secret_access_key"], aws_session_token=v["aws_session_token"])
    get = lambda k: scoped.get_object(Bucket=bucket, Key=k)["Body"].read()  # noqa: E731
    put = lambda k: scoped.put_object(Bucket=bucket, Key=k, Body=b"new")  # noqa: E731
    assert _try(lambda: get("kitaru/runs/r1/x.txt")) == "ALLOWED"
    assert _try(lambda: get("kitaru/runs/r2/y.txt")) == "DENIED AccessDenied"
    assert _try(lambda: get("other/z.txt")) == "DENIED AccessDenied"
    assert _try(lambda: put("kitaru/runs/r1/new.txt")) == ("ALLOWED" if access == "write" else "DENIED AccessDenied")
    assert _try(lambda: put("kitaru/runs/r2/new.txt")) == "DENIED AccessDenied"
    bogus = boto("s3", moto_url, aws_access_key_id="AKIAXXXXXXXXXXXXXXXX", aws_secret_access_key="x")
    assert _try(lambda: bogus.get_object(Bucket=bucket, Key="kitaru/runs/r1/x.txt")) == "DENIED InvalidAccessKeyId"

    # a runtime building a store from the minted credentials works inside and is refused outside
    runtime = S3ArtifactStore(S3ArtifactStoreConfig(
        path=f"s3://{bucket}/kitaru", endpoint_url=moto_url, region=REGION, aws_access_key_id=v["aws_access_key_id"],
        aws_secret_access_key=v["aws_secret_access_key"], aws_session_token=v["aws_session_token"], max_attempts=1))
    with runtime.open("runs/r1/x.txt") as f:
        assert f.read() == b"data"
    with pytest.raises(KitaruBackendError):
        runtime.open("runs/r2/y.txt")


def test_the_store_lists_its_prefix_through_the_trailing_slash_condition(
        moto_url: str, bucket: str, broker: dict[str, Any], enforced: None) -> None:
    """The listing condition names `prefix/` (so `kitaru` never lists `kitaru-prod/`, checked with the policy
    evaluator in test_s3_policy: moto does not evaluate `s3:prefix` conditions); the store's own listing, which
    always ends the prefix with `/`, still works with enforced IAM."""
    store = S3ArtifactStore(S3ArtifactStoreConfig(
        path=f"s3://{bucket}/kitaru", endpoint_url=moto_url, region=REGION, aws_access_key_id=broker["key_id"],
        aws_secret_access_key=broker["secret"], role_arn=broker["roles"]["read"]))
    v = store.mint_credentials("runs/r1", access="read").values
    runtime = S3ArtifactStore(S3ArtifactStoreConfig(
        path=f"s3://{bucket}/kitaru/runs/r1", endpoint_url=moto_url, region=REGION,
        aws_access_key_id=v["aws_access_key_id"], aws_secret_access_key=v["aws_secret_access_key"],
        aws_session_token=v["aws_session_token"], max_attempts=1))
    assert list(runtime.list("")) == ["x.txt"]
