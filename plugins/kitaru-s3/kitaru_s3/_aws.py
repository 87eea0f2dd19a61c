"""boto3 clients with retries (standard mode: throttling and 5xx, exponential backoff).

A client acts as the configured identity: explicit keys, else credentials brokered by the Kitaru
server (refreshed before they expire), else the ambient AWS credential chain.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from kitaru.plugins import Access, CredentialBroker
from kitaru_s3._config import AWSAccess

BROKERED_TTL = 3600  # the broker's cap; botocore refreshes 5 minutes before expiry
_loader_lock = threading.Lock()
_loader: list[Any] = []


def _botocore_session() -> Any:
    """A fresh botocore session sharing this process's data loader: the service models and endpoint data
    (large JSON files) are parsed once per process, not once per client (~0.3 s each on these machines)."""
    import botocore.session
    from botocore.loaders import create_loader

    with _loader_lock:
        if not _loader:
            _loader.append(create_loader())
    session = botocore.session.get_session()
    session.register_component("data_loader", _loader[0])
    return session


def region_of(config: AWSAccess) -> str:
    """The configured region, else the ambient one, else us-east-1."""
    return config.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _brokered_botocore_session(broker: CredentialBroker, access: Access) -> Any:
    """A botocore session whose only credential source is the broker (refreshable, never the ambient chain)."""
    from botocore.credentials import CredentialProvider, CredentialResolver, RefreshableCredentials

    def fetch() -> dict[str, str]:
        creds = broker(access)
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
    return session


def client(service: str, config: AWSAccess, *, endpoint_url: str | None = None, broker: CredentialBroker | None = None,
           access: Access = "read", **extra: Any) -> Any:
    """A boto3 client; with a `broker` (and no explicit keys) it uses `access` credentials minted by the server."""
    import boto3
    from botocore.config import Config

    if broker is not None and not config.aws_access_key_id:
        session = boto3.session.Session(botocore_session=_brokered_botocore_session(broker, access),
                                        region_name=region_of(config))
    else:
        session = boto3.session.Session(
            botocore_session=_botocore_session(), aws_access_key_id=config.aws_access_key_id, aws_secret_access_key=config.aws_secret_access_key,
            aws_session_token=config.aws_session_token, region_name=region_of(config),
        )
    botocfg = Config(retries={"max_attempts": config.max_attempts, "mode": "standard"}, connect_timeout=10,
                     read_timeout=60, request_checksum_calculation="when_required",
                     response_checksum_validation="when_required", **extra)
    return session.client(service, endpoint_url=endpoint_url or config.endpoint_url, config=botocfg)
