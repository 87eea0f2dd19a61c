"""Dispatch credentials: a short-lived impersonated token that may run CustomJobs, and nothing else."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from kitaru.plugins import ComponentContext, Credentials, JobSpec, get_plugin_manager
from kitaru_vertex import DISPATCH_PERMISSIONS, VertexForbiddenError, VertexUsageError
from kitaru_vertex.testing import FakeVertex

from vertex_helpers import IMAGE


def _client_orchestrator(vertex: FakeVertex, tmp_path: Path, broker: Any) -> Any:
    flavor = get_plugin_manager().flavor("orchestrator", "vertex")
    config = flavor.config.model_validate({"project": vertex.project, "region": vertex.region, "image": IMAGE,
                                           "api_endpoint": vertex.url, "logging_endpoint": vertex.url})  # no token
    return flavor.factory(config, ComponentContext(home=tmp_path, stack="vertex", broker=broker))


def test_brokered_token_submits_follows_and_cancels(vertex: FakeVertex, tmp_path: Path) -> None:
    server_side = vertex.orchestrator()
    minted: list[Credentials] = []

    def broker(access: str) -> Credentials:
        minted.append(server_side.mint_credentials("", access="write", ttl=900))
        return minted[-1]

    orch = _client_orchestrator(vertex, tmp_path, broker)
    assert orch.flavor == "vertex" and orch.remote is True
    job_id = orch.submit(JobSpec("exec-b", [sys.executable, "-c", "print('via token')"], env={"A": "1"}))
    assert orch.wait(job_id, timeout=30, poll=0.05).state == "succeeded"
    assert "via token" in list(orch.logs(job_id))
    [creds] = minted  # reused until shortly before it expires
    assert creds.flavor == "vertex" and creds.scope == f"projects/{vertex.project}/locations/{vertex.region}"
    assert creds.values["service_account"] == vertex.dispatch_account and creds.values["access_token"]
    assert 850 < (creds.expires_at - datetime.now(timezone.utc)).total_seconds() <= 900
    assert vertex.tokens[creds.values["access_token"]] == set(DISPATCH_PERMISSIONS)
    mint = [r for r in vertex.requests if r[1].endswith(":generateAccessToken")]
    assert mint[0][2] == {"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "900s"}
    running = orch.submit(JobSpec("exec-c", [sys.executable, "-c", "import time; time.sleep(60)"]))
    orch.cancel(running)
    assert orch.wait(running, timeout=30, poll=0.05).state == "cancelled"


def test_dispatch_token_cannot_mint_tokens_or_act_beyond_jobs(vertex: FakeVertex) -> None:
    creds = vertex.orchestrator().mint_dispatch_credentials(ttl=10)  # clamped up to 300 s
    assert (creds.expires_at - datetime.now(timezone.utc)).total_seconds() > 290
    token = creds.values["access_token"]
    with pytest.raises(VertexForbiddenError, match="serviceAccountTokenCreator") as err:
        vertex.orchestrator(access_token=token).mint_dispatch_credentials()
    assert err.value.status == 403
    resp = requests.post(f"{vertex.url}/v1/projects/-/serviceAccounts/{vertex.dispatch_account}:generateAccessToken",
                         json={"lifetime": "3600s"}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 403 and resp.json()["error"]["status"] == "PERMISSION_DENIED"


def test_unknown_token_and_missing_dispatch_account_are_clear_errors(vertex: FakeVertex) -> None:
    with pytest.raises(VertexForbiddenError, match="kitaru login") as err:
        vertex.orchestrator(access_token="ya29.forged", image=IMAGE).submit(JobSpec("e", ["true"]))
    assert err.value.status == 401 and vertex.jobs() == []
    with pytest.raises(VertexUsageError, match="dispatch_service_account"):
        vertex.orchestrator(dispatch_service_account=None).mint_dispatch_credentials()


def test_brokered_token_close_to_expiry_is_minted_again(vertex: FakeVertex, tmp_path: Path) -> None:
    server_side = vertex.orchestrator()
    minted: list[Credentials] = []

    def broker(access: str) -> Credentials:
        fresh = server_side.mint_credentials(ttl=300)
        short = Credentials(fresh.flavor, fresh.access, fresh.scope, datetime.now(timezone.utc) + timedelta(seconds=30),
                            fresh.values)  # inside the refresh margin: the next call mints again
        minted.append(short)
        return short

    orch = _client_orchestrator(vertex, tmp_path, broker)
    job_id = orch.submit(JobSpec("exec-r", [sys.executable, "-c", "pass"]))
    orch.status(job_id)
    assert len(minted) >= 2 and len({c.values["access_token"] for c in minted}) == len(minted)
