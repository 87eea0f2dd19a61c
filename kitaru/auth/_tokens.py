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
RUNTIME_MAX_AGE = 86400
"""Default absolute lifetime of a runtime token chain (KITARU_SERVER_RUNTIME_TOKEN_MAX_AGE): no refresh beyond it."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or service account (admin/member/viewer), or a runtime scoped to one execution.

    A runtime token's `sub` is the execution's owner (it acts with the owner's rights, whoever minted it);
    `kid` is the API key the token (or the token that minted it) was exchanged from: revoking the key
    revokes it; `origin` is when a runtime token chain was first minted (refresh stops at a cap).
    """

    sub: str
    name: str
    role: str  # admin | member | viewer | runtime
    exp: float
    exec: str | None = None
    stack: str | None = None
    kid: str | None = None
    origin: float | None = None

    @property
    def is_admin(self) -> bool:
        """Whether this principal may manage users, keys, secrets and stacks."""
        return self.role == "admin"

    @property
    def is_viewer(self) -> bool:
        """Whether this principal may only read."""
        return self.role == "viewer"

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


def runtime_max_age() -> float:
    """The absolute lifetime of a runtime token chain (KITARU_SERVER_RUNTIME_TOKEN_MAX_AGE, default 24 h)."""
    import os

    return float(os.environ.get("KITARU_SERVER_RUNTIME_TOKEN_MAX_AGE", RUNTIME_MAX_AGE))


def runtime_token(row: dict[str, Any], key: bytes, *, kid: str | None, origin: float) -> tuple[str, int]:
    """A runtime token for an execution row: it acts as the execution's owner, never as whoever asked for it,
    and expires at the latest `runtime_max_age()` after `origin`. Returns (token, seconds until it expires)."""
    now = time.time()
    exp = min(now + RUNTIME_TTL, origin + runtime_max_age())
    who = Principal(sub=str(row.get("owner_id") or ""), name=f"runtime:{row['id']}", role="runtime", exp=exp,
                    exec=row["id"], stack=row["stack"], kid=kid, origin=origin)
    return sign(who, key), max(0, int(exp - now))
