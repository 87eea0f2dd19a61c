"""How the plugin reaches the API server: brokered token, explicit host+token, in-cluster, or kubeconfig."""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.plugins import CredentialBroker, Credentials

from kitaru_k8s._config import KubernetesOrchestratorConfig

_REFRESH_MARGIN = timedelta(seconds=60)


class Connection:
    """Hands out an `ApiClient`; with a broker, re-mints the token shortly before it expires."""

    def __init__(self, config: KubernetesOrchestratorConfig, broker: CredentialBroker | None = None) -> None:
        self.config, self.broker = config, broker
        self._lock = threading.Lock()
        self._client: Any = None
        self._expires_at: datetime | None = None
        self.host = config.host or "<kubeconfig>"

    def api(self) -> Any:
        """The current `kubernetes.client.ApiClient`."""
        with self._lock:
            now = datetime.now(timezone.utc)
            if self._client is None or (self._expires_at is not None and now + _REFRESH_MARGIN >= self._expires_at):
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        from kubernetes import client

        cfg = client.Configuration()
        cfg.retries = 1  # fail fast on an unreachable server; callers decide about retrying
        c = self.config
        if self.broker is not None and not c.token:  # a client of a server: the stack's token stays there
            creds = self.broker("write")
            values = creds.values
            _apply_token(cfg, values["host"], values["token"], values.get("certificate_authority_data"), c.verify_ssl)
            self._expires_at = creds.expires_at
        elif c.host:
            _apply_token(cfg, c.host, c.token, c.certificate_authority_data, c.verify_ssl)
        elif not (c.context or c.kubeconfig) and os.environ.get("KUBERNETES_SERVICE_HOST"):
            from kubernetes import config as kube_config

            kube_config.load_incluster_config(client_configuration=cfg)
        else:
            from kubernetes import config as kube_config

            path = os.path.expanduser(c.kubeconfig) if c.kubeconfig else None
            try:
                kube_config.load_kube_config(config_file=path, context=c.context, client_configuration=cfg)
            except (kube_config.ConfigException, OSError) as exc:
                raise KitaruUsageError(
                    f"cannot load the kubeconfig {path or '~/.kube/config'} (context {c.context or 'current'}): {exc}."
                    " Set the orchestrator's `kubeconfig`/`context`, or `host` + `token`") from None
        self.host = cfg.host
        return client.ApiClient(cfg)

    def connection_values(self) -> dict[str, str]:
        """host and CA of the cluster as seen by this connection (for brokered credentials)."""
        cfg = self.api().configuration
        values = {"host": cfg.host}
        if cfg.ssl_ca_cert and os.path.isfile(cfg.ssl_ca_cert):
            with open(cfg.ssl_ca_cert, "rb") as f:
                values["certificate_authority_data"] = base64.b64encode(f.read()).decode()
        return values


def _apply_token(cfg: Any, host: str, token: str | None, ca_data: str | None, verify_ssl: bool) -> None:
    cfg.host = host.rstrip("/")
    if token:
        cfg.api_key = {"authorization": f"Bearer {token}"}  # no api_key_prefix: its key differs across versions
    cfg.verify_ssl = verify_ssl
    if ca_data:
        f = tempfile.NamedTemporaryFile("wb", prefix="kitaru-k8s-ca-", suffix=".crt", delete=False)
        with f:
            f.write(base64.b64decode(ca_data))
        cfg.ssl_ca_cert = f.name


def dispatch_credentials(values: dict[str, str], namespace: str, token: str, expires_at: datetime) -> Credentials:
    """The `Credentials` handed to a client: API server, CA, namespace and a TokenRequest token."""
    return Credentials("kubernetes", "write", namespace, expires_at, {**values, "namespace": namespace, "token": token})

