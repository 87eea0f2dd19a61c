"""Principals (users, service accounts), their API keys, and the shared token signing key."""

from __future__ import annotations

import hmac
import os
import secrets
import uuid
from typing import Any

from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.server._tokens import key_hash, key_id, new_api_key
from kitaru.store._rows import now

ROLES = ("admin", "member")
KINDS = ("user", "service_account")


class IdentityService:
    """Users, service accounts and API keys in the state store (keys hashed at rest)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def signing_key(self) -> bytes:
        """The token signing key: KITARU_SERVER_SECRET_KEY, else one stored in the DB (shared by replicas)."""
        env = os.environ.get("KITARU_SERVER_SECRET_KEY")
        if env:
            return env.encode()
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO server_keys (name, value, created_at) VALUES ('token_signing', :v, :t)"
                       " ON CONFLICT (name) DO NOTHING", {"v": secrets.token_hex(32), "t": now()})
            row = tx.execute("SELECT value FROM server_keys WHERE name = 'token_signing'").fetchone()
        return str(row["value"]).encode()

    # ------------------------------------------------------------------ principals
    def create_principal(self, name: str, *, kind: str, role: str) -> dict[str, Any]:
        """Create a user or service account."""
        if kind not in KINDS or role not in ROLES:
            raise KitaruUsageError(f"kind must be one of {KINDS} and role one of {ROLES}")
        if self.get_principal(name) is not None:
            raise KitaruStateError(f"{name!r} already exists")
        row = {"id": uuid.uuid4().hex, "name": name, "kind": kind, "role": role, "created_at": now()}
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO principals (id, name, kind, role, created_at) VALUES (:id, :name, :kind, :role,"
                       " :created_at)", row)
        return row

    def get_principal(self, name_or_id: str) -> dict[str, Any] | None:
        """A principal by name or id."""
        rows = self.db.query("SELECT * FROM principals WHERE name = :n OR id = :n", {"n": name_or_id})
        return dict(rows[0]) if rows else None

    def list_principals(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Principals (optionally of one kind), by name."""
        sql = "SELECT * FROM principals" + (" WHERE kind = :k" if kind else "") + " ORDER BY name"
        return [dict(r) for r in self.db.query(sql, {"k": kind})]

    def delete_principal(self, principal_id: str) -> None:
        """Delete a principal and all of its API keys."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM api_keys WHERE principal_id = :p", {"p": principal_id})
            tx.execute("DELETE FROM principals WHERE id = :p", {"p": principal_id})

    # -------------------------------------------------------------------- api keys
    def create_key(self, principal_id: str, name: str, *, key: str | None = None) -> tuple[dict[str, Any], str]:
        """Create an API key for a principal; returns (metadata, the key itself — shown once)."""
        key = key or new_api_key()
        row = {"id": key_id(key), "principal_id": principal_id, "name": name, "key_hash": key_hash(key),
               "created_at": now()}
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO api_keys (id, principal_id, name, key_hash, created_at)"
                       " VALUES (:id, :principal_id, :name, :key_hash, :created_at)", row)
        return _public(row), key

    def list_keys(self, principal_id: str | None = None) -> list[dict[str, Any]]:
        """API key metadata (never the key or its hash)."""
        sql = ("SELECT k.*, p.name AS principal FROM api_keys k JOIN principals p ON p.id = k.principal_id"
               + (" WHERE k.principal_id = :p" if principal_id else "") + " ORDER BY k.created_at")
        return [_public(dict(r)) for r in self.db.query(sql, {"p": principal_id})]

    def get_key(self, kid: str) -> dict[str, Any] | None:
        """One API key's metadata."""
        rows = self.db.query("SELECT * FROM api_keys WHERE id = :i", {"i": kid})
        return _public(dict(rows[0])) if rows else None

    def delete_key(self, kid: str) -> bool:
        """Revoke an API key."""
        with self.db.transaction() as tx:
            return int(tx.execute("DELETE FROM api_keys WHERE id = :i", {"i": kid}).rowcount) == 1

    def rotate_key(self, kid: str) -> tuple[dict[str, Any], str]:
        """Replace an API key by a new one for the same principal and name."""
        old = self.get_key(kid)
        if old is None:
            raise KeyError(kid)
        created = self.create_key(old["principal_id"], old["name"])
        self.delete_key(kid)
        return created

    def authenticate(self, api_key: str) -> dict[str, Any] | None:
        """The principal owning a valid API key, or None."""
        rows = self.db.query(
            "SELECT k.key_hash, p.* FROM api_keys k JOIN principals p ON p.id = k.principal_id WHERE k.id = :i",
            {"i": key_id(api_key)})
        if not rows or not hmac.compare_digest(str(rows[0]["key_hash"]), key_hash(api_key)):
            return None
        with self.db.transaction() as tx:
            tx.execute("UPDATE api_keys SET last_used_at = :t WHERE id = :i", {"t": now(), "i": key_id(api_key)})
        return {k: v for k, v in dict(rows[0]).items() if k != "key_hash"}

    def ensure_bootstrap_admin(self, api_key: str | None = None) -> str | None:
        """Create the first admin and key if no admin exists (or register `api_key`); return a new key."""
        if api_key is not None:
            if self.authenticate(api_key) is not None:
                return None
            admin = self.get_principal("admin") or self.create_principal("admin", kind="user", role="admin")
            self.create_key(admin["id"], "bootstrap", key=api_key)
            return api_key
        if self.db.query("SELECT 1 FROM principals WHERE role = 'admin'"):
            return None
        admin = self.get_principal("admin") or self.create_principal("admin", kind="user", role="admin")
        return self.create_key(admin["id"], "bootstrap")[1]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "key_hash"}
