"""The web UI sends browsers straight to S3 (moto) with short-lived, read-only presigned URLs for values
stored there: the UI server itself never reads or proxies cloud storage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest
from s3_helpers import REGION

import kitaru
from kitaru.stacks import register_stack

pytest.importorskip("jinja2")


def test_cloud_output_download_is_a_presigned_redirect(moto_url: str, bucket: str, kitaru_home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from kitaru.ui._local import local_app

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    kitaru.create_secret("moto-aws", aws_access_key_id="testing", aws_secret_access_key="testing")
    register_stack("aws.yaml", text=textwrap.dedent(f"""
        name: aws
        orchestrator: {{flavor: local}}
        artifact_store:
          flavor: s3
          path: s3://{bucket}/kitaru
          region: {REGION}
          endpoint_url: {moto_url}
          aws_access_key_id: {{secret: moto-aws}}
          aws_secret_access_key: {{secret: moto-aws}}
    """).lstrip())

    @kitaru.checkpoint
    def report() -> str:
        return "quarterly report " * 100

    @kitaru.flow
    def s3_report() -> str:
        return report()

    handle = s3_report.run(stack="aws")
    handle.wait()
    c = TestClient(local_app(kitaru_home, "t"), base_url="http://127.0.0.1")
    c.get("/ui/start?token=t")
    fragment = c.get(f"/executions/{handle.exec_id}/checkpoints/report/output").text
    assert f"s3://{bucket}/kitaru" in fragment and "short-lived read-only link" in fragment
    blob = fragment.split('href="')[1].split('"')[0]
    r = c.get(blob, follow_redirects=False)
    assert r.status_code == 307
    url = r.headers["location"]
    assert url.startswith(moto_url) and "Signature=" in url and "Expires=" in url
    assert httpx.get(url).content == ("quarterly report " * 100).encode()  # the browser's fetch, straight from S3
