"""The s3 artifact store passes the shared conformance suite against moto (and the ECR registry its own)."""

from __future__ import annotations

from typing import Any

import pytest
from s3_helpers import REGION, boto, make_store

from kitaru.testing import ArtifactStoreConformance, ContainerRegistryConformance
from kitaru_s3._config import ECRConfig, S3ArtifactStoreConfig
from kitaru_s3._ecr import ECRRegistry
from kitaru_s3._store import S3ArtifactStore


class TestS3ArtifactStore(ArtifactStoreConformance):
    @pytest.fixture
    def store(self, moto_url: str, bucket: str, broker_role: str) -> S3ArtifactStore:
        return make_store(moto_url, bucket, broker_role)


class TestS3ArtifactStoreWithoutPrefix(ArtifactStoreConformance):
    stream_size = 16 << 20

    @pytest.fixture
    def store(self, moto_url: str, bucket: str, broker_role: str) -> S3ArtifactStore:
        return S3ArtifactStore(S3ArtifactStoreConfig(
            path=f"s3://{bucket}", endpoint_url=moto_url, region=REGION, aws_access_key_id="testing",
            aws_secret_access_key="testing", role_arn=broker_role, addressing_style="path"))


def test_large_writes_use_multipart_and_small_ones_a_single_put(moto_url: str, bucket: str) -> None:
    store = make_store(moto_url, bucket)
    calls: list[str] = []
    store._writer.meta.events.register("before-call.s3.*", lambda model, **kw: calls.append(model.name))
    store.write("small", b"x" * 1024)
    assert calls == ["PutObject"]
    calls.clear()
    store.write("big", memoryview(b"y" * (20 << 20)))
    assert calls == ["CreateMultipartUpload", "UploadPart", "UploadPart", "UploadPart", "CompleteMultipartUpload"]
    head = boto("s3", moto_url).head_object(Bucket=bucket, Key="kitaru/big")
    assert head["ContentLength"] == 20 << 20 and "-3" in head["ETag"]


def test_failed_multipart_upload_is_aborted(moto_url: str, bucket: str) -> None:
    store = make_store(moto_url, bucket)

    def broken():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"z" * (1 << 20)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.write("partial", broken())
    assert boto("s3", moto_url).list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_read_resumes_after_a_dropped_connection(moto_url: str, bucket: str) -> None:
    from urllib3.exceptions import ProtocolError

    store = make_store(moto_url, bucket)
    payload = bytes(range(256)) * 4096
    store.write("obj", payload)
    reader = store.open("obj")
    first = reader.read(1000)
    real_body = reader._body  # type: ignore[attr-defined]

    class Flaky:
        def read(self, n: int) -> bytes:
            raise ProtocolError("connection reset")

        def close(self) -> None:
            real_body.close()

    reader._body = Flaky()  # type: ignore[attr-defined]
    rest = reader.read()
    assert first + rest == payload


def test_throttling_and_5xx_are_retried_with_backoff(moto_url: str, bucket: str) -> None:
    from botocore.awsrequest import AWSResponse

    store = make_store(moto_url, bucket, max_attempts=5)
    assert store._writer.meta.config.retries["mode"] == "standard"
    failures = [(503, b"<Error><Code>SlowDown</Code><Message>slow down</Message></Error>"),
                (500, b"<Error><Code>InternalError</Code><Message>oops</Message></Error>")]
    sent: list[int] = []

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, *a: Any, **k: Any) -> Any:
            yield self.body

    def inject(request: Any, **kwargs: Any) -> Any:
        sent.append(1)
        if failures:
            status, body = failures.pop(0)
            return AWSResponse(request.url, status, {}, Raw(body))
        return None

    store._writer.meta.events.register("before-send.s3.PutObject", inject)
    store.write("retried", b"payload")
    assert len(sent) == 3
    with store.open("retried") as f:
        assert f.read() == b"payload"


def test_ambient_identity_and_endpoint_from_root(moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitaru.plugins import get_plugin_manager

    make_store(moto_url, bucket).write("blobs/x", b"hello")
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": moto_url}.items():
        monkeypatch.setenv(k, v)
    flavor = get_plugin_manager().store_flavor_for_scheme("s3")
    assert flavor is not None and flavor.from_root is not None
    store = flavor.from_root(f"s3://{bucket}/kitaru")
    assert store.root == f"s3://{bucket}/kitaru"
    with store.open("blobs/x") as f:
        assert f.read() == b"hello"


def test_config_validation() -> None:
    from pydantic import ValidationError

    for bad in ("gs://b/p", "s3://B_ad/p", "s3://bucket/a/*/b", "s3://bucket/../x"):
        with pytest.raises(ValidationError):
            S3ArtifactStoreConfig(path=bad)
    assert S3ArtifactStoreConfig(path="s3://bucket/a/b/").path == "s3://bucket/a/b"
    with pytest.raises(ValidationError):
        ECRConfig(uri="docker.io/library/python")


class TestECRRegistry(ContainerRegistryConformance):
    @pytest.fixture
    def registry(self, moto_url: str) -> ECRRegistry:
        return ECRRegistry(ECRConfig(uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/agents", endpoint_url=moto_url,
                                     aws_access_key_id="testing", aws_secret_access_key="testing"))

    def test_ecr_token(self, registry: ECRRegistry) -> None:
        creds = registry.credentials("pull")
        assert creds.username == "AWS" and creds.password and creds.expires_at is not None
        assert registry.image_uri("agent", "1.0") == "123456789012.dkr.ecr.us-east-1.amazonaws.com/agents/agent:1.0"
