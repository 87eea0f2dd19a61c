"""Signed bearer tokens (HMAC-SHA256, stdlib only) and API key hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

TOKEN_PREFIX = "kt1"
DEFAULT_TTL = 900
RUNTIME_TTL = 3600


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or service account (admin/member), or a runtime scoped to one execution."""

    sub: str
    name: str
    role: str  # admin | member | runtime
    exp: float
    exec: str | None = None
    stack: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether this principal may manage users, keys, secrets and stacks."""
        return self.role == "admin"

    @property
    def is_runtime(self) -> bool:
        """Whether this is an execution-scoped runtime token."""
        return self.exec is not None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(principal: Principal, key: bytes) -> str:
    """Encode and sign a principal as a bearer token."""
    body = _b64(json.dumps(asdict(principal), separators=(",", ":")).encode())
    mac = hmac.new(key, f"{TOKEN_PREFIX}.{body}".encode(), hashlib.sha256).digest()
    return f"{TOKEN_PREFIX}.{body}.{_b64(mac)}"


def verify(token: str, keys: bytes | Sequence[bytes], *, at: float | None = None) -> Principal | None:
    """The principal of a valid, unexpired token signed with one of `keys` (current first); None otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    try:
        signed, mac = f"{parts[0]}.{parts[1]}".encode(), _unb64(parts[2])
        if not any(hmac.compare_digest(hmac.new(key, signed, hashlib.sha256).digest(), mac)
                   for key in ((keys,) if isinstance(keys, bytes) else keys)):
            return None
        principal = Principal(**json.loads(_unb64(parts[1])))
    except (ValueError, TypeError):
        return None
    return principal if principal.exp > (at or time.time()) else None


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a token without verifying it (clients use them to refresh early); {} if unreadable."""
    try:
        payload = json.loads(_unb64(token.split(".")[1]))
    except (ValueError, IndexError, TypeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def peek_expiry(token: str) -> float | None:
    """The expiry of a token without verifying it."""
    try:
        return float(token_claims(token)["exp"])
    except (KeyError, ValueError, TypeError):
        return None


def new_api_key() -> str:
    """A fresh API key (shown once; only its hash is stored)."""
    return f"kit_{secrets.token_urlsafe(32)}"


def key_id(api_key: str) -> str:
    """The public id of an API key: a prefix of its hash (safe to list and log)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:24]


def key_hash(api_key: str) -> str:
    """The stored hash of an API key."""
    return hashlib.sha256(b"kitaru-api-key:" + api_key.encode()).hexdigest()
