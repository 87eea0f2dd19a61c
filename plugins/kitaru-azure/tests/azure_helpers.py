"""Helpers shared by the kitaru-azure tests (Azurite's well-known dev account, stores and stack configs)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCOUNT = "devstoreaccount1"
TENANT = "ab1f708d-50f6-404c-a006-d71b2ac7a606"
OBJECT_ID = "5f1d8f0e-6a4b-4c4e-9a51-0c1d2e3f4a5b"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    """A running Azurite blob endpoint (path-style: http://127.0.0.1:PORT/devstoreaccount1)."""

    url: str
    account: str
    key: str
    ca_file: str = ""  # the certificate to trust for an HTTPS instance

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.url};")


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 / localhost (cert.pem, key.pem in `folder`)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def aad_token(*, audience: str = "https://storage.azure.com", ttl: int = 3600) -> str:
    """An Azure AD-shaped access token (unsigned: Azurite's `--oauth basic` checks issuer, audience and expiry)."""
    import base64
    import json
    import time

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"aud": audience, "iss": f"https://sts.windows.net/{TENANT}/", "iat": now - 60, "nbf": now - 60,
              "exp": now + ttl, "oid": OBJECT_ID, "tid": TENANT}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class StaticToken:
    """A TokenCredential that returns one token (the server's Azure AD identity in tests); counts its calls."""

    def __init__(self, token: str) -> None:
        self.token, self.calls = token, 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.calls += 1
        return AccessToken(self.token, 2**31 - 1)


def service(az: Azurite) -> Any:
    """A BlobServiceClient with the account key (the test's root identity)."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(az.url, credential={"account_name": az.account, "account_key": az.key})


def blob_names(az: Azurite, container: str, prefix: str = "") -> set[str]:
    """Committed blob names in a container (root identity)."""
    return {b.name for b in service(az).get_container_client(container).list_blobs(name_starts_with=prefix)}


def make_store(az: Azurite, container: str, **extra: Any) -> Any:
    """An AzureArtifactStore on Azurite under `az://container/kitaru`, acting with the account key."""
    from kitaru_azure._config import AzureArtifactStoreConfig
    from kitaru_azure._store import AzureArtifactStore

    fields: dict[str, Any] = {"path": f"az://{container}/kitaru", "account_url": az.url, "account_key": az.key,
                              "max_attempts": 3, **extra}
    return AzureArtifactStore(AzureArtifactStoreConfig(**{k: v for k, v in fields.items() if v is not None}))


def register(az: Azurite, container: str, name: str = "az") -> None:
    """A stack with an azure store on Azurite that names no credential at all (a server brokers them)."""
    from kitaru.stacks import register_stack

    register_stack(f"{name}.yaml", text=(f"name: {name}\norchestrator: {{flavor: local}}\n"
                                         f"artifact_store: {{flavor: azure, path: az://{container}/kitaru,"
                                         f" account_url: {az.url}}}\n"))
