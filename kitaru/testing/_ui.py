"""The web UI's brokered previews, checked the same way for every cloud artifact store flavor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PREVIEWED = "quarterly report " * 100
"""The output whose download the check follows."""


def ui_brokered_download(home: Path, stack: str) -> str:
    """Run a one-checkpoint flow on `stack`, open its output preview in the local UI (`kitaru ui`'s app) and
    follow its download link: the UI must answer with a 307 to a short-lived storage URL (never the bytes
    themselves). Returns that URL; the caller checks it against its emulator (`PREVIEWED` is the content)."""
    from fastapi.testclient import TestClient

    import kitaru
    from kitaru.ui._local import local_app

    @kitaru.checkpoint
    def report() -> str:
        return PREVIEWED

    @kitaru.flow
    def ui_report() -> str:
        return report()

    handle = ui_report.run(stack=stack)
    handle.wait()
    c = TestClient(local_app(home, "preview-token"), base_url="http://127.0.0.1")
    c.get("/ui/start?token=preview-token")
    fragment = c.get(f"/executions/{handle.exec_id}/checkpoints/report/output").text
    assert "short-lived read-only link" in fragment, fragment
    blob = fragment.split('href="')[1].split('"')[0]
    r = c.get(blob, follow_redirects=False)
    assert r.status_code == 307, r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    anonymous = TestClient(local_app(home, "other"), base_url="http://127.0.0.1").get(blob, follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    assert anonymous.headers.get("location", "/login").startswith("/login")  # no session: no storage URL
    _refuses_unregistered_roots(c, handle.exec_id)
    return str(r.headers["location"])


def _refuses_unregistered_roots(client: Any, exec_id: str) -> None:
    """A recorded value whose root is no registered stack's store (a runner may write any ref into its own
    journal) gets no signed URL: the UI would otherwise sign reads anywhere its identity can reach."""
    import uuid

    from kitaru.store import current_state

    state = current_state()
    [real] = [c["output"] for c in state.load_journal(exec_id)]
    forged_id = uuid.uuid4().hex
    state.create_execution({"id": forged_id, "flow_name": "ui_report", "flow_source": {}, "stack": "default",
                            "inputs": {}}, owner="forger", lease_ttl=60)
    forged = {**real, "store": real["store"].rstrip("/") + "-elsewhere"}
    call = {"exec_id": forged_id, "invocation_id": "report", "seq": 0, "name": "report", "type": "checkpoint"}
    state.complete_call(call, 1, owner="forger", output=forged, metadata={})
    r = client.get(f"/executions/{forged_id}/blobs/{real['sha256']}", follow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers, (r.status_code, r.text)
    assert "registered stack" in r.text
