"""The web UI sends browsers straight to S3 (moto) with short-lived, read-only presigned URLs for values
stored there: the UI server itself never reads or proxies cloud storage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from s3_helpers import REGION

import kitaru
from kitaru.stacks import register_stack
from kitaru.testing import PREVIEWED, ui_brokered_download
from tests.support import http

pytest.importorskip("jinja2")


def test_cloud_output_download_is_a_presigned_redirect(moto_url: str, bucket: str, kitaru_home: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
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

    url = ui_brokered_download(kitaru_home, "aws")
    assert url.startswith(moto_url) and "Signature=" in url and "Expires=" in url
    assert http.get(url).content == PREVIEWED.encode()  # the browser's fetch, straight from S3
