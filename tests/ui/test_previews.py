"""Output previews and downloads from the local artifact store: images inline, long text truncated with a
download link, pickled values never deserialized by the server, and only this execution's values served."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.ui.support import UIServer


def test_image_text_and_opaque_previews_and_downloads(ui: UIServer, flows: Any) -> None:
    handle = flows.media.run()
    handle.wait()
    other = flows.research.run(topic="x")
    other.wait()
    c = TestClient(ui.server.config.app, base_url="http://127.0.0.1")
    c.get(f"/ui/start?token={ui.token}")
    base = f"/executions/{handle.exec_id}/checkpoints"
    img = c.get(f"{base}/picture/output").text
    src = re.search(r'<img class="preview-img" alt="[^"]*" src="([^"]+)"', img).group(1)
    got = c.get(src)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content == flows.PNG and "sandbox" in got.headers["content-security-policy"]
    essay = c.get(f"{base}/essay/output").text
    assert "Truncated" in essay
    link = re.search(r'href="([^"]+)" download>Download all 25000 bytes', essay).group(1)
    full = c.get(link)
    assert full.content == b"word " * 5000 and full.headers["content-disposition"].startswith("attachment")
    opaque = c.get(f"{base}/opaque/output").text
    assert "pickle" in opaque and "not previewed" in opaque  # never unpickled by the server
    sha = re.search(r"/blobs/([0-9a-f]{64})", essay).group(1)
    assert c.get(f"/executions/{other.exec_id}/blobs/{sha}").status_code == 404  # not that execution's value
    assert c.get(f"/executions/{handle.exec_id}/blobs/{'0' * 64}").status_code == 404
