"""`kitaru k8s …`: commands the Kubernetes plugin adds to the `kitaru` CLI (through the `kitaru_cli` hook)."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

app = typer.Typer(help="Kubernetes orchestrator: set up a namespace for Kitaru jobs.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})


class Format(str, enum.Enum):
    """How `rbac` prints the manifests."""

    yaml = "yaml"
    json = "json"


@app.command("rbac")
def rbac_command(
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Namespace the orchestrator creates Jobs in.")],
    service_account: Annotated[str, typer.Option(
        "--service-account", help="ServiceAccount whose tokens the server mints for dispatch.")] = "kitaru-dispatch",
    output: Annotated[Format, typer.Option(
        "--output", "-o", case_sensitive=False,
        help="yaml (for `kubectl apply -f -`) or json ({command, items, count}).")] = Format.yaml,
) -> None:
    """Print the ServiceAccount, Role and RoleBinding that dispatch needs: `kitaru k8s rbac -n NS | kubectl apply -f -`."""
    from pydantic import ValidationError

    from kitaru.errors import KitaruUsageError
    from kitaru_k8s._config import KubernetesOrchestratorConfig
    from kitaru_k8s._manifests import dispatch_rbac

    try:  # the same namespace rules as a stack's orchestrator config
        KubernetesOrchestratorConfig(namespace=namespace, dispatch_service_account=service_account)
    except ValidationError as exc:
        problems = "; ".join(f"{'--namespace' if e['loc'][0] == 'namespace' else '--service-account'} {e['msg']}"
                             for e in exc.errors())
        raise KitaruUsageError(f"{problems.replace('Value error, ', '')}") from None
    manifests = dispatch_rbac(namespace, service_account)
    if output == Format.json:
        typer.echo(json.dumps({"command": "k8s.rbac", "items": manifests, "count": len(manifests)}))
        return
    import yaml

    typer.echo(yaml.safe_dump_all(manifests, sort_keys=False), nl=False)
