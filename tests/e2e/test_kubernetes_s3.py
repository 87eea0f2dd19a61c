"""The production path end to end: a client with no cloud credentials and no kubeconfig runs a flow on a
Kubernetes stack; a real server on PostgreSQL brokers dispatch tokens and S3 credentials; the fake cluster's
"kubelet" runs each Job as a real `python -m kitaru.runtime` process that fetches the shipped code archive and
writes outputs to moto S3."""

from __future__ import annotations

import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("kitaru_k8s")
pytest.importorskip("kitaru_s3")

from kitaru_k8s.testing import FakeCluster  # noqa: E402

from kitaru.client import KitaruClient  # noqa: E402
from tests.e2e.flows import REMOTE_FLOWS as FLOWS  # noqa: E402
from tests.e2e.moto import assumable_role, boto  # noqa: E402
from tests.e2e.world import answer_as_a_member, cloud_world, moto_url  # noqa: E402,F401  (a fixture)
from tests.support import http, wait_for  # noqa: E402

@pytest.fixture
def world(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Moto S3 + a fake cluster + a server on PostgreSQL; this process connected as an admin without AWS/kube."""
    role = assumable_role(moto_url, "kitaru")

    def cluster(base_env: dict[str, str]) -> FakeCluster:
        return FakeCluster(namespaces=("kitaru",), grace_period=1.0,
                           base_env={**base_env, "HOME": str(tmp_path / "pod-home")})

    with cloud_world(tmp_path, moto_url, monkeypatch, cluster, "cluster") as world:
        import kitaru
        from kitaru.stacks import register_stack

        kitaru.create_secret("k8s-admin", token=world["cluster"].admin_token)
        register_stack("k8s.yaml", text=textwrap.dedent(f"""
            name: k8s
            orchestrator: {{flavor: kubernetes, namespace: kitaru, host: "{world["cluster"].url}",
                            token: {{secret: k8s-admin}}, image: "registry.example/agents:1"}}
            artifact_store: {{flavor: s3, path: "s3://{world["bucket"]}/kitaru", region: us-east-1,
                              endpoint_url: "{moto_url}", role_arn: "{role}"}}
        """), activate=False)
        yield world


def _jobs(cluster: FakeCluster) -> list[dict[str, Any]]:
    return cluster.list("Job", "kitaru")


def test_run_on_kubernetes_from_a_client_without_cloud_credentials(world: dict[str, Any], flow_module) -> None:
    mod = flow_module(FLOWS, "k8s_agent")
    started = time.perf_counter()
    handle = mod.research.run("durable", stack="k8s")
    assert time.perf_counter() - started < 30
    assert handle.wait(timeout=120) == "DURABLE!"
    [job] = _jobs(world["cluster"])
    env = job["spec"]["template"]["spec"]["containers"][0].get("env") or []
    assert not any(e.get("name") == "KITARU_AUTH_TOKEN" for e in env)  # the token reached the pod via a Secret
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["python", "-m", "kitaru.runtime"]  # the image's python, not this machine's path
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.orchestrator == "kubernetes" and execution.job_id
    keys = [o["Key"] for o in boto("s3", world["moto"]).list_objects_v2(Bucket=world["bucket"])["Contents"]]
    assert any(k.startswith("kitaru/code/sha256/") for k in keys) and any("/blobs/" in k for k in keys)


def test_a_killed_pod_is_lost_and_retry_does_not_rerun_completed_checkpoints(
        world: dict[str, Any], flow_module) -> None:
    world["cluster"].base_env["SLOW"] = "30"
    mod = flow_module(FLOWS, "k8s_agent2")
    handle = mod.research.run("kill", stack="k8s")
    marks = world["marks"]
    wait_for(lambda: "slow" in marks.read_text().split(), timeout=90)
    [job] = _jobs(world["cluster"])
    proc = world["cluster"].process(f"kitaru/{job['metadata']['name']}")
    assert proc is not None, "the pod's process is not running"
    proc.send_signal(signal.SIGKILL)
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "failed", timeout=60, interval=0.5)
    world["cluster"].base_env["SLOW"] = "0"
    client.executions.retry(handle.exec_id)
    assert handle.wait(timeout=120) == "KILL!"
    assert marks.read_text().split().count("fetch") == 1  # the completed checkpoint was not run again
    assert len(_jobs(world["cluster"])) == 2


def test_an_answer_from_another_user_is_dispatched_by_the_server(world: dict[str, Any], flow_module) -> None:
    mod = flow_module(FLOWS, "k8s_agent3")
    handle = mod.approved.run("wait", stack="k8s")
    client = KitaruClient()
    wait_for(lambda: client.executions.get(handle.exec_id).status == "waiting", timeout=90, interval=0.3)
    answered = answer_as_a_member(world["server"], handle.exec_id)
    assert answered.status_code == 200, answered.text
    assert handle.wait(timeout=120) == "WAIT"
    assert len(_jobs(world["cluster"])) == 2  # the server dispatched the continuation


def test_cancel_deletes_the_job(world: dict[str, Any], flow_module) -> None:
    world["cluster"].base_env["SLOW"] = "60"
    mod = flow_module(FLOWS, "k8s_agent4")
    handle = mod.research.run("stop", stack="k8s")
    wait_for(lambda: "slow" in world["marks"].read_text().split(), timeout=90)
    client = KitaruClient()
    client.executions.cancel(handle.exec_id)
    wait_for(lambda: client.executions.get(handle.exec_id).status == "cancelled", timeout=60, interval=0.5)
    wait_for(lambda: not _jobs(world["cluster"]), timeout=30)


def test_an_image_that_cannot_be_pulled_fails_with_origin_infrastructure(world: dict[str, Any], flow_module) -> None:
    world["cluster"].fail_image_pull("registry.example/*")
    mod = flow_module(FLOWS, "k8s_agent5")
    handle = mod.research.run("img", stack="k8s")
    client = KitaruClient()

    def pull_lines() -> list[str]:  # what Kubernetes reported before any runtime could start
        return [e.message for e in client.executions.logs(handle.exec_id, source="orchestrator")
                if "ImagePull" in e.message or "Pull" in e.message]

    wait_for(pull_lines, timeout=60, interval=0.3)
    assert all(line.startswith("[kubernetes]") for line in pull_lines())
    runner = client.executions.logs(handle.exec_id, source="runner")
    assert runner and runner[0].source == "orchestrator" and runner[0].message.startswith("[kubernetes]")
    from typer.testing import CliRunner

    from kitaru.cli._app import app

    cli = CliRunner().invoke(app, ["executions", "logs", handle.exec_id, "--source", "runner"])
    assert cli.exit_code == 0 and "[kubernetes]" in cli.output and "Pull" in cli.output, cli.output
    wait_for(lambda: client.executions.get(handle.exec_id).status == "failed", timeout=90, interval=0.5)
    failure = client.executions.get(handle.exec_id).failure
    assert failure is not None and str(failure.origin) == "infrastructure"
    assert "ImagePull" in failure.message or "ErrImagePull" in failure.message


def test_isolated_checkpoints_fan_out_into_parallel_jobs(world: dict[str, Any], flow_module) -> None:
    world["cluster"].base_env["PART_BARRIER"] = "3"  # each part runs until all three started (60 s at most)
    mod = flow_module(FLOWS, "k8s_agent6")
    handle = mod.fanned.run(3, stack="k8s")
    rows = handle.wait(timeout=180)
    assert [r[0] for r in rows] == [0, 1, 2] and len({r[1] for r in rows}) == 3
    assert max(r[2] for r in rows) < min(r[3] for r in rows), "the checkpoint jobs did not run in parallel"
    jobs = _jobs(world["cluster"])
    parts = [j for j in jobs if j["metadata"]["labels"].get("kitaru.dev/checkpoint")]
    assert len(jobs) == 4 and sorted(j["metadata"]["labels"]["kitaru.dev/checkpoint"] for j in parts) == [
        "part", "part_2", "part_3"]
    for job in parts:  # the runtime token reached each checkpoint pod through its Secret too
        env = job["spec"]["template"]["spec"]["containers"][0].get("env") or []
        assert not any(e.get("name") == "KITARU_AUTH_TOKEN" for e in env)
    calls = {c.invocation_id: c for c in KitaruClient().executions.get(handle.exec_id).checkpoints}
    assert all(str(calls[i].status) == "completed" and calls[i].metadata["job"]["orchestrator"] == "kubernetes"
               for i in ("part", "part_2", "part_3"))
    assert world["marks"].read_text().split().count("part") == 3


def _ui_session(server: LocalServer, name: str, role: str) -> httpx.Client:
    """A browser-like client of the server's web UI, logged in with a new `role` user's API key."""
    import re

    admin = {"Authorization": f"Bearer {server.token()}"}
    http.post(f"{server.url}/api/v1/users", json={"name": name, "role": role}, headers=admin,
              timeout=10).raise_for_status()
    key = http.post(f"{server.url}/api/v1/api-keys", json={"name": "ui", "principal": name}, headers=admin,
                    timeout=10).json()["api_key"]
    c = httpx.Client(base_url=server.url, timeout=60)
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"api_key": key, "csrf": csrf}).status_code == 303
    return c


def _page_csrf(c: httpx.Client, exec_id: str) -> tuple[str, str]:
    import re

    page = c.get(f"/executions/{exec_id}").text
    return page, re.search(r'name="csrf-token" content="([0-9a-f]+)"', page).group(1)


def test_retry_and_replay_from_the_server_web_ui(world: dict[str, Any], flow_module) -> None:
    """The server's UI offers retry/resume/replay for remote stacks and dispatches them itself (no client runs the
    code); a viewer gets no buttons and is refused; a replay with an override runs from the shipped code."""
    from urllib.parse import parse_qs, urlsplit

    server, cluster = world["server"], world["cluster"]
    mod = flow_module(FLOWS, "k8s_agent7")
    cluster.fail_image_pull("registry.example/*")
    failed = mod.research.run("ui", stack="k8s")
    client = KitaruClient()
    wait_for(lambda: client.executions.get(failed.exec_id).status == "failed", timeout=90, interval=0.5)
    cluster.image_pull_failures.clear()

    viewer = _ui_session(server, "ui-viewer", "viewer")
    page, csrf = _page_csrf(viewer, failed.exec_id)
    assert 'id="retry"' not in page and 'id="actions"' not in page
    assert viewer.post(f"/executions/{failed.exec_id}/retry", data={"csrf": csrf}).status_code == 403
    assert client.executions.get(failed.exec_id).status == "failed"

    member = _ui_session(server, "ui-member", "member")
    page, csrf = _page_csrf(member, failed.exec_id)
    assert 'id="retry"' in page and 'id="resume"' in page  # a remote stack: the server dispatches them
    ran_on = client.executions.get(failed.exec_id)
    assert f'id="ran-on">kubernetes · job {ran_on.job_id}<' in page  # where it ran: orchestrator and job
    assert member.post(f"/executions/{failed.exec_id}/retry", data={}).status_code == 403  # no CSRF token
    r = member.post(f"/executions/{failed.exec_id}/retry", data={"csrf": csrf})
    assert r.status_code == 303 and "dispatched" in parse_qs(urlsplit(r.headers["location"]).query)["notice"][0]
    assert failed.wait(timeout=120) == "UI!"
    assert 'id="replay"' in _page_csrf(member, failed.exec_id)[0]  # now it has checkpoints to replay from

    bad = member.post(f"/executions/{failed.exec_id}/replay",
                      data={"csrf": csrf, "from": "slow", "overrides_json": '{"checkpoint.nope": 1}'})
    assert bad.status_code == 303 and "error" in bad.headers["location"]
    before = {e.exec_id for e in client.executions.list(limit=50)}
    r = member.post(f"/executions/{failed.exec_id}/replay",
                    data={"csrf": csrf, "from": "slow", "overrides_json": '{"checkpoint.fetch": {"topic": "swapped"}}'})
    assert r.status_code == 303, r.text
    new_id = urlsplit(r.headers["location"]).path.rsplit("/", 1)[1]
    assert new_id not in before and new_id != failed.exec_id
    assert before | {new_id} == {e.exec_id for e in client.executions.list(limit=50)}  # the bad one made nothing
    assert client.executions.wait(new_id, timeout=120) == "SWAPPED!"
    replayed = client.executions.get(new_id)
    assert replayed.original_exec_id == failed.exec_id and replayed.owner == "ui-member"
    assert world["marks"].read_text().split().count("fetch") == 1  # fetch ran once (the retry); replay reused it


def test_a_client_without_the_flows_code_replays_it_through_the_server(
        world: dict[str, Any], flow_module, tmp_path: Path) -> None:
    """`kitaru executions replay` on a laptop that never had the flow's code: the server replays the shipped
    archive with the override, as it retries and resumes; new inputs would need the code, and say so."""
    import json

    from tests.cli.helpers import cli_env, kitaru

    mod = flow_module(FLOWS, "k8s_agent8")
    handle = mod.research.run("desk", stack="k8s")
    assert handle.wait(timeout=120) == "DESK!"
    mod.path.unlink()  # the flow's code exists nowhere on this machine now
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    done = kitaru("executions", "replay", handle.exec_id, "--from", "slow", "--overrides",
                  '{"checkpoint.fetch": {"topic": "laptop"}}', "-o", "json", cwd=laptop, env=cli_env())
    assert done.returncode == 0, done.stderr
    new_id = json.loads(done.stdout)["item"]["exec_id"]
    client = KitaruClient()
    assert client.executions.wait(new_id, timeout=120) == "LAPTOP!"
    replayed = client.executions.get(new_id)
    assert replayed.original_exec_id == handle.exec_id and replayed.orchestrator == "kubernetes"
    assert world["marks"].read_text().split().count("fetch") == 1  # the override stood in for fetch
    changed = kitaru("executions", "replay", handle.exec_id, "--from", "fetch", "--args", '{"topic": "x"}',
                     cwd=laptop, env=cli_env())
    assert changed.returncode != 0  # new inputs are encoded here, from the flow, which is not here
    assert "flow module 'k8s_agent8' is not importable here" in changed.stderr, changed.stderr


def test_the_flows_image_settings_name_the_jobs_image(world: dict[str, Any], flow_module) -> None:
    from kitaru import ImageSettings
    from kitaru.images import plan
    from kitaru.stacks._service import stored_spec
    from kitaru.store import current_state

    mod = flow_module(FLOWS, "k8s_agent7")
    settings = {"requirements": ["httpx"], "environment": {"MODE": "prod"}}
    handle = mod.research.run("img", stack="k8s", image=settings)
    assert handle.wait(timeout=120) == "IMG!"
    expected = plan(ImageSettings.model_validate(settings), spec=stored_spec("k8s", current_state())).image
    [job] = _jobs(world["cluster"])
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == expected  # not the stack's default image
    assert expected.startswith("kitaru-runtime:")
    prebuilt = mod.research.run("pre", stack="k8s", image={"image": "registry.example/prebuilt:3"})
    assert prebuilt.wait(timeout=120) == "PRE!"
    images = {j["spec"]["template"]["spec"]["containers"][0]["image"] for j in _jobs(world["cluster"])}
    assert "registry.example/prebuilt:3" in images
