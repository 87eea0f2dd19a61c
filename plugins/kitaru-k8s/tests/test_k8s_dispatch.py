"""Dispatch credentials: a short-lived TokenRequest token that may run jobs, and nothing else."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from kitaru.plugins import ComponentContext, JobSpec, get_plugin_manager
from kitaru_k8s import KubernetesForbiddenError, dispatch_rbac, dispatch_role
from kitaru_k8s.testing import FakeCluster

from k8s_helpers import IMAGE


def test_brokered_dispatch_token_submits_follows_and_cancels(cluster: FakeCluster, tmp_path: Path) -> None:
    server_side = cluster.orchestrator("team-a")
    minted: list[Any] = []

    def broker(access: str) -> Any:
        minted.append(server_side.mint_dispatch_credentials(ttl=900))
        return minted[-1]

    flavor = get_plugin_manager().flavor("orchestrator", "kubernetes")
    config = flavor.config.model_validate({"namespace": "team-a", "image": IMAGE})  # no host, token or kubeconfig
    orch = flavor.factory(config, ComponentContext(home=tmp_path, stack="k8s", broker=broker))
    assert orch.flavor == "kubernetes" and orch.remote is True
    job_id = orch.submit(JobSpec("exec-b", [sys.executable, "-c", "print('via token')"], env={"A": "1"}))
    assert orch.wait(job_id, timeout=30).state == "succeeded"
    assert "via token" in list(orch.logs(job_id))
    creds = minted[0]
    assert creds.flavor == "kubernetes" and creds.scope == "team-a" and creds.values["host"] == cluster.url
    assert 590 < (creds.expires_at - datetime.now(timezone.utc)).total_seconds() <= 900
    assert len(minted) == 1  # reused until shortly before it expires
    running = orch.submit(JobSpec("exec-c", [sys.executable, "-c", "import time; time.sleep(60)"]))
    orch.cancel(running)
    assert orch.status(running).state == "cancelled"


def test_dispatch_token_cannot_read_secrets_or_mint_tokens(cluster: FakeCluster) -> None:
    from kubernetes import client

    creds = cluster.orchestrator("team-a").mint_dispatch_credentials(ttl=60)  # clamped up to the API minimum
    assert (creds.expires_at - datetime.now(timezone.utc)).total_seconds() > 590
    cfg = client.Configuration()
    cfg.host, cfg.api_key = cluster.url, {"authorization": "Bearer " + creds.values["token"]}
    core = client.CoreV1Api(client.ApiClient(cfg))
    for attempt in (lambda: core.list_namespaced_secret("team-a"),
                    lambda: core.read_namespaced_secret("anything", "team-a"),
                    lambda: core.create_namespaced_service_account_token("kitaru-dispatch", "team-a", {
                        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": []}})):
        with pytest.raises(client.ApiException) as err:
            attempt()
        assert err.value.status == 403
    token_orch = cluster.orchestrator("team-a", token=creds.values["token"])
    with pytest.raises(KubernetesForbiddenError):
        token_orch.mint_dispatch_credentials()


def test_rbac_manifests_are_exactly_the_dispatch_verbs_and_valid() -> None:
    manifests = dispatch_rbac("team-a")
    for manifest in manifests:
        kubernetes_validate.validate(manifest, "1.31", strict=True)
    rules = {(r["apiGroups"][0], res): set(r["verbs"]) for r in dispatch_role("team-a")["rules"]
             for res in r["resources"]}
    assert rules == {("batch", "jobs"): {"create", "get", "delete"}, ("", "secrets"): {"create"},
                     ("", "pods"): {"get", "list", "watch"}, ("", "pods/log"): {"get"}, ("", "events"): {"list"}}
    assert [m["kind"] for m in manifests] == ["ServiceAccount", "Role", "RoleBinding"]


def test_brokered_token_close_to_expiry_is_minted_again(cluster: FakeCluster, tmp_path: Path) -> None:
    from datetime import timedelta

    from kitaru.plugins import Credentials

    server_side = cluster.orchestrator("team-a")
    minted: list[Credentials] = []

    def broker(access: str) -> Credentials:
        fresh = server_side.mint_credentials("team-a", access="write", ttl=600)
        short = Credentials(fresh.flavor, fresh.access, fresh.scope, datetime.now(timezone.utc) + timedelta(seconds=30),
                            fresh.values)  # inside the refresh margin: the next call mints again
        minted.append(short)
        return short

    flavor = get_plugin_manager().flavor("orchestrator", "kubernetes")
    orch = flavor.factory(flavor.config.model_validate({"namespace": "team-a", "image": IMAGE}),
                          ComponentContext(home=tmp_path, stack="k8s", broker=broker))
    job_id = orch.submit(JobSpec("exec-r", [sys.executable, "-c", "pass"]))
    orch.status(job_id)
    assert len(minted) >= 3 and len({c.values["token"] for c in minted}) == len(minted)
