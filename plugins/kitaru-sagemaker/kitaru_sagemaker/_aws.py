"""boto3 clients acting as the configured identity: explicit keys, brokered dispatch credentials, or ambient."""

from __future__ import annotations

import os
import threading
from typing import Any

from kitaru.plugins import CredentialBroker

from kitaru_sagemaker._config import SageMakerOrchestratorConfig


_loader_lock = threading.Lock()
_loader: list[Any] = []


def _botocore_session() -> Any:
    """A fresh botocore session sharing this process's data loader, so the service models are parsed once per
    process: SageMaker's is ~3 MB of JSON, ~0.3 s of CPU for every client otherwise (as in kitaru-s3)."""
    import botocore.session
    from botocore.loaders import create_loader

    with _loader_lock:
        if not _loader:
            _loader.append(create_loader())
    session = botocore.session.get_session()
    session.register_component("data_loader", _loader[0])
    return session


def region_of(config: SageMakerOrchestratorConfig) -> str:
    """The configured region, else the ambient one, else us-east-1."""
    return config.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _brokered_session(broker: CredentialBroker, region: str) -> Any:
    """A botocore session whose only credential source is the server's broker (refreshed before expiry)."""
    from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials

    def fetch() -> dict[str, str]:
        creds = broker("write")
        v = creds.values
        return {"access_key": v["aws_access_key_id"], "secret_key": v["aws_secret_access_key"],
                "token": v["aws_session_token"], "expiry_time": creds.expires_at.isoformat()}

    class Brokered(CredentialProvider):  # type: ignore[misc]
        METHOD = CANONICAL_NAME = "kitaru-broker"

        def load(self) -> RefreshableCredentials:
            return RefreshableCredentials.create_from_metadata(fetch(), fetch, self.METHOD, advisory_timeout=300,
                                                               mandatory_timeout=120)

    session = _botocore_session()
    session.register_component("credential_provider", CredentialResolver([Brokered()]))
    session.set_config_variable("region", region)
    return session


def client(service: str, config: SageMakerOrchestratorConfig, *, broker: CredentialBroker | None = None,
           endpoint_url: str | None = None) -> Any:
    """A boto3 client with standard retries; with a `broker` (and no explicit keys) it uses dispatch credentials."""
    import boto3
    from botocore.config import Config

    region = region_of(config)
    if broker is not None and not config.aws_access_key_id:
        session = boto3.session.Session(botocore_session=_brokered_session(broker, region), region_name=region)
    else:
        session = boto3.session.Session(botocore_session=_botocore_session(),
                                        aws_access_key_id=config.aws_access_key_id,
                                        aws_secret_access_key=config.aws_secret_access_key,
                                        aws_session_token=config.aws_session_token, region_name=region)
    botocfg = Config(retries={"max_attempts": config.max_attempts, "mode": "standard"}, connect_timeout=10,
                     read_timeout=60)
    return session.client(service, endpoint_url=endpoint_url, config=botocfg)
