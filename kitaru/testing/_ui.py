"""The web UI's brokered previews, checked the same way for every cloud artifact store flavor."""

from __future__ import annotations

from pathlib import Path

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
    return str(r.headers["location"])
