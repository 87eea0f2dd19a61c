"""charts/kitaru through the real helm: lint, render, Kubernetes 1.31 schemas, and what the manifests promise."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest

from tests.charts.support import CHART, NAMESPACE, RELEASE, VALUES_FILES, run_helm

FULLNAME = f"{RELEASE}-kitaru"
SECRET_ENV = {"KITARU_DATABASE_URL", "KITARU_SERVER_SECRET_KEY", "KITARU_SERVER_PREVIOUS_SECRET_KEYS",
              "KITARU_SERVER_ENCRYPTION_KEY", "KITARU_BOOTSTRAP_API_KEY"}


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if (name is None or d["metadata"]["name"] == name)
             and (namespace is None or d["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"expected one {kind} {name or ''} {namespace or ''}, got {len(found)}"
    return found[0]


def pod_specs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d["spec"]["template"]["spec"] for d in docs if d["kind"] in ("Deployment", "Job")]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def rules(role: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    return {(g, r, tuple(sorted(rule["verbs"])), tuple(rule.get("resourceNames", ())))
            for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}


@pytest.mark.parametrize("values", VALUES_FILES)
def test_lint_strict_passes(helm: str, values: str) -> None:
    proc = run_helm(helm, "lint", "--strict", str(CHART), "-f", str(CHART / values))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("values", VALUES_FILES)
def test_every_manifest_validates_against_kubernetes_1_31(render: Any, values: str) -> None:
    docs = render(values)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Service", "ServiceAccount", "Role", "RoleBinding", "PodDisruptionBudget"} <= kinds
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, "1.31", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{values}: {doc['kind']}/{doc['metadata']['name']} is invalid: {exc.message}")


def test_the_validator_catches_a_typo() -> None:
    """The schema check above is real: a misspelt field is refused."""
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                                      "spec": {"prots": []}}, "1.31", strict=True)


@pytest.mark.parametrize("values", VALUES_FILES)
def test_no_secret_value_reaches_a_manifest(render: Any, values: str) -> None:
    """Secrets come only from the existing Secret: no Secret object, every secret env var is a secretKeyRef."""
    docs = render(values)
    assert not of_kind(docs, "Secret")
    for spec in pod_specs(docs):
        for container in spec["containers"]:
            env = env_of(container)
            for name in SECRET_ENV & env.keys():
                if name == "KITARU_DATABASE_URL" and "value" in env[name]:
                    assert env[name]["value"].startswith("sqlite:////var/lib/kitaru/"), env[name]
                    continue
                assert set(env[name]) == {"name", "valueFrom"}, env[name]
                assert env[name]["valueFrom"]["secretKeyRef"]["name"]
    if "postgres" in values or "workload" in values:
        dump = json.dumps(docs)
        assert "postgresql://" not in dump and "postgresql+psycopg://" not in dump


@pytest.mark.parametrize("attempt", [
    "database.url=postgresql://kitaru:hunter2@db/kitaru",
    "secrets.databaseUrl=postgresql://kitaru:hunter2@db/kitaru",
    "secrets.signingKeyValue=abc123",
    "server.extraEnv[0].name=KITARU_SERVER_SECRET_KEY,server.extraEnv[0].value=abc123",
    "server.extraEnv[0].name=OPENAI_API_KEY,server.extraEnv[0].value=sk-abc",
    "server.extraEnv[0].name=KITARU_DATABASE_URL,server.extraEnv[0].value=postgresql://u:p@h/d",
    "secrets.existingSecret=postgresql://u:p@h/d",
])
def test_values_refuse_secret_material(render_error: Any, attempt: str) -> None:
    """An attempt to put a secret into values fails the render (the schema is strict)."""
    message = render_error(sets=[attempt])
    assert "schema" in message, message


def test_extra_env_from_a_secret_ref_is_allowed(render: Any) -> None:
    docs = render(sets=["server.extraEnv[0].name=OPENAI_API_KEY",
                       "server.extraEnv[0].valueFrom.secretKeyRef.name=llm",
                       "server.extraEnv[0].valueFrom.secretKeyRef.key=openai"])
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(container)["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "llm", "key": "openai"}


def test_default_is_one_sqlite_server_on_a_volume(render: Any) -> None:
    docs = render("values.yaml")
    deployment = one(docs, "Deployment", FULLNAME)
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    claim = one(docs, "PersistentVolumeClaim", f"{FULLNAME}-data")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    container = pod["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    db_url = env_of(container)["KITARU_DATABASE_URL"]["value"]
    assert db_url == f"sqlite:///{mounts['data']}/server.db"
    assert not of_kind(docs, "Job"), "SQLite: the server migrates its own database; no hook Job"


def test_postgres_runs_a_migration_hook_before_install_and_upgrade(render: Any) -> None:
    docs = render("ci/postgres-ingress.yaml")
    job = one(docs, "Job", f"{FULLNAME}-migrate")
    notes = job["metadata"]["annotations"]
    assert notes["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert notes["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    container = pod["containers"][0]
    assert container["args"] == ["server", "migrate"]
    assert env_of(container)["KITARU_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "kitaru-server", "key": "database-url"}
    # its ServiceAccount is a hook too (the release's does not exist yet) and is created first
    hook_sa = one(docs, "ServiceAccount", pod["serviceAccountName"])
    assert hook_sa["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(hook_sa["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(notes["helm.sh/hook-weight"])
    deployment = one(docs, "Deployment", FULLNAME)
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert not of_kind(docs, "PersistentVolumeClaim")


def test_migration_hook_keeps_the_workload_identity(render: Any) -> None:
    docs = render("ci/workload-identity.yaml")
    server_sa = one(docs, "ServiceAccount", "kitaru-server")
    role_arn = server_sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role_arn == "arn:aws:iam::123456789012:role/kitaru-server"
    job = one(docs, "Job")
    hook_sa = one(docs, "ServiceAccount", job["spec"]["template"]["spec"]["serviceAccountName"])
    assert hook_sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn
    deployment = one(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kitaru-server"
    assert deployment["spec"]["replicas"] == 2
    container = pod["containers"][0]
    assert container["image"].endswith("@sha256:4c8f2b9a0d3e1f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c")
    env = env_of(container)
    assert env["KITARU_SERVER_ENCRYPTION_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "kitaru-prod",
                                                                                "key": "ENCRYPTION_KEY"}
    assert env["KITARU_BOOTSTRAP_API_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert "KITARU_SERVER_PREVIOUS_SECRET_KEYS" not in env, "an empty key name means: do not read it"


@pytest.mark.parametrize("values", VALUES_FILES)
def test_probes_ports_and_command(render: Any, values: str) -> None:
    docs = render(values)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    port = container["ports"][0]
    assert port["name"] == "http"
    args = container["args"]
    assert args[:2] == ["server", "up"] and args[args.index("--host") + 1] == "0.0.0.0"
    assert int(args[args.index("--port") + 1]) == port["containerPort"]
    service = one(docs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())


@pytest.mark.parametrize("values", VALUES_FILES)
def test_pods_run_non_root_on_a_read_only_root_filesystem(render: Any, values: str) -> None:
    docs = render(values)
    specs = pod_specs(docs)
    assert specs
    for pod in specs:
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["runAsNonRoot"] is True and ctx["readOnlyRootFilesystem"] is True
            assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]
            assert ctx["seccompProfile"]["type"] == "RuntimeDefault"
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]
            assert env_of(container)["HOME"]["value"].startswith("/tmp")


def test_root_cannot_be_requested(render_error: Any) -> None:
    assert "runAsUser" in render_error(sets=["securityContext.runAsUser=0"])


SERVER_RULES = {
    ("batch", "jobs", ("create", "delete", "get", "list", "watch"), ()),
    ("", "secrets", ("create", "delete", "get"), ()),
    ("", "pods", ("get", "list", "watch"), ()),
    ("", "pods/log", ("get",), ()),
}
DISPATCH_RULES = {
    ("batch", "jobs", ("create", "delete", "get"), ()),
    ("", "secrets", ("create",), ()),
    ("", "pods", ("get", "list"), ()),
    ("", "pods/log", ("get",), ()),
}


def test_rbac_per_runtime_namespace_is_exactly_what_dispatch_needs(render: Any) -> None:
    docs = render("ci/multi-namespace.yaml")
    namespaces = ["kitaru-research", "kitaru-support", "kitaru-sales"]
    assert not of_kind(docs, "ClusterRole") and not of_kind(docs, "ClusterRoleBinding")
    for ns in namespaces:
        server_role = one(docs, "Role", f"{FULLNAME}-server", ns)
        assert rules(server_role) == SERVER_RULES | {("", "serviceaccounts/token", ("create",), ("agent-dispatcher",))}
        binding = one(docs, "RoleBinding", f"{FULLNAME}-server", ns)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": f"{FULLNAME}-server"}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
        assert rules(one(docs, "Role", f"{FULLNAME}-dispatch", ns)) == DISPATCH_RULES
        dispatch_binding = one(docs, "RoleBinding", f"{FULLNAME}-dispatch", ns)
        assert dispatch_binding["subjects"] == [{"kind": "ServiceAccount", "name": "agent-dispatcher", "namespace": ns}]
        runtime_sa = one(docs, "ServiceAccount", "agent-runtime", ns)
        assert runtime_sa["automountServiceAccountToken"] is False
        assert runtime_sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].startswith("kitaru-runtime@")
        assert one(docs, "ServiceAccount", "agent-dispatcher", ns)["automountServiceAccountToken"] is False
        # the runtime ServiceAccount is bound to nothing: runtime pods talk only to the Kitaru server
        assert all(s["name"] != "agent-runtime" for b in of_kind(docs, "RoleBinding") for s in b["subjects"])
    assert {r["metadata"]["namespace"] for r in of_kind(docs, "Role")} == set(namespaces)


@pytest.mark.parametrize("values", VALUES_FILES)
def test_no_wildcards_and_no_secret_reads_beyond_the_server(render: Any, values: str) -> None:
    for role in of_kind(render(values), "Role"):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"]
            if role["metadata"]["name"].endswith("-dispatch") and "secrets" in rule["resources"]:
                assert rule["verbs"] == ["create"], "a dispatcher token must not read Secrets"


def test_default_runtime_namespace_is_the_release_namespace(render: Any) -> None:
    docs = render("values.yaml")
    assert {r["metadata"]["namespace"] for r in of_kind(docs, "Role")} == {NAMESPACE}
    one(docs, "ServiceAccount", "kitaru-runtime", NAMESPACE)


@pytest.mark.parametrize("sets,expected", [
    (["replicaCount=2"], "replicaCount=2 needs PostgreSQL"),
    (["autoscaling.enabled=true"], "autoscaling.enabled=true needs PostgreSQL"),
    (["database.type=postgresql"], "database.type=postgresql reads the database URL from an existing Secret"),
    (["database.type=postgresql", "secrets.existingSecret=s", "secrets.keys.databaseUrl="],
     "needs secrets.keys.databaseUrl"),
    (["ingress.enabled=true"], "hosts"),
    (["replicas=2"], "additional properties 'replicas' not allowed"),
])
def test_configurations_that_cannot_work_fail_to_render(render_error: Any, sets: list[str], expected: str) -> None:
    assert expected in render_error(sets=sets)


def test_several_replicas_on_postgres_render(render: Any) -> None:
    docs = render(sets=["replicaCount=3", "database.type=postgresql", "secrets.existingSecret=kitaru-server"])
    assert one(docs, "Deployment")["spec"]["replicas"] == 3


def test_ingress_routes_to_the_service_with_tls(render: Any) -> None:
    docs = render("ci/postgres-ingress.yaml")
    ingress = one(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "kitaru-tls", "hosts": ["kitaru.example.com"]}]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "kitaru.example.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": one(docs, "Service")["metadata"]["name"], "port": {"name": "http"}}
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == one(docs, "Deployment")["metadata"]["name"]
    assert one(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == 2


def test_network_policy_allows_the_listed_peers_and_restricted_egress(render: Any) -> None:
    docs = render("ci/postgres-ingress.yaml")
    policy = one(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "server"
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert len(policy["spec"]["ingress"][0]["from"]) == 2
    egress = policy["spec"]["egress"]
    assert {"port": 53, "protocol": "UDP"} in egress[0]["ports"]
    assert {"port": 5432, "protocol": "TCP"} in egress[1]["ports"]
    assert not of_kind(render("values.yaml"), "NetworkPolicy")


def test_install_notes_tell_how_to_log_in(helm: str) -> None:
    proc = run_helm(helm, "install", "kitaru", str(CHART), "--namespace", NAMESPACE, "--dry-run=client", "-f", str(CHART / "ci/postgres-ingress.yaml"))
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    assert "kitaru login https://kitaru.example.com --api-key KEY" in notes
    assert 'key "bootstrap-api-key" of Secret kitaru-server' in notes


def test_schema_is_closed_wherever_the_chart_defines_the_shape() -> None:
    """Every object the chart defines refuses unknown keys; only Kubernetes pass-through objects stay open."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if node.get("type") == "object" and "properties" in node and node.get("additionalProperties") is not False:
            open_objects.append(path or "/")
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}/{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")

    walk(schema, "")
    assert open_objects == []
    passthrough = {k for k, v in schema["properties"].items() if v.get("type") == "object" and "properties" not in v
                   and "additionalProperties" not in v}
    assert passthrough == {"global", "resources", "affinity"}
