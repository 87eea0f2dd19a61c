"""Bearer tokens and API keys: signing and verifying (the server), reading claims (clients), key hashing.

Neutral ground between the server and the store's HTTP client, which both import it (stdlib only).
"""

from __future__ import annotations

from kitaru.auth._tokens import (
    DEFAULT_TTL,
    RUNTIME_MAX_AGE,
    RUNTIME_TTL,
    TOKEN_PREFIX,
    Principal,
    key_hash,
    key_id,
    new_api_key,
    peek_expiry,
    runtime_max_age,
    runtime_token,
    sign,
    token_claims,
    verify,
)

__all__ = [
    "DEFAULT_TTL",
    "RUNTIME_MAX_AGE",
    "RUNTIME_TTL",
    "TOKEN_PREFIX",
    "Principal",
    "key_hash",
    "key_id",
    "new_api_key",
    "peek_expiry",
    "runtime_max_age",
    "runtime_token",
    "sign",
    "token_claims",
    "verify",
]
