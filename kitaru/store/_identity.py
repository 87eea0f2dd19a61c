"""Principals (users, service accounts), their API keys, secret grants, and the shared token signing keys.

The server's identity tables, over the same `Database` as the state service (every replica shares them).
Signing keys and the encryption key's fingerprint live in `server_keys`, encrypted with the server's box.
"""

from __future__ import annotations

import hmac
import os
import secrets
import uuid
from typing import Any

from kitaru.auth import key_hash, key_id, new_api_key
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.store._crypto import SecretBox
from kitaru.store._rows import now

ROLES = ("admin", "member", "viewer")
KINDS = ("user", "service_account")
_SIGNING, _PREVIOUS = "token_signing", "token_signing_previous"
_CHECK = "encryption_key_check"
_STORED_KEYS = f"SELECT name, value FROM server_keys WHERE name IN ('{_SIGNING}', '{_PREVIOUS}')"


class IdentityService:
    """Users, service accounts and API keys in the state store (keys hashed at rest)."""

    def __init__(self, db: Any, box: SecretBox | None = None) -> None:
        self.db, self._box = db, box

    @property
    def box(self) -> SecretBox:
        """The encryption box for stored signing keys (the server's key; see `kitaru.server._keys`)."""
        if self._box is None:
            raise KitaruUsageError("the server's encryption key is needed to read or store signing keys; open the"
                                   " identity store with it (kitaru.server._keys.server_box)")
        return self._box

    # ------------------------------------------------------------ keys at rest
    def remember_key_check(self, check: str) -> str:
        """Record the encryption key's fingerprint if none is recorded yet; return the recorded one."""
        self.db.execute_one("INSERT INTO server_keys (name, value, created_at) VALUES (:n, :v, :t)"
                            " ON CONFLICT (name) DO NOTHING", {"n": _CHECK, "v": check, "t": now()})
        return str(self.db.query("SELECT value FROM server_keys WHERE name = :n", {"n": _CHECK})[0]["value"])

    def reencrypt(self, old: SecretBox, new: SecretBox) -> int:
        """Re-encrypt every secret value and stored signing key from `old` to `new` and record `new`'s
        fingerprint, in one transaction; returns how many values were re-encrypted."""
        count = 0
        with self.db.transaction() as tx:
            for r in tx.execute("SELECT name, data FROM secrets").fetchall():
                aad = f"secret:{r['name']}"
                tx.execute("UPDATE secrets SET data = :d WHERE name = :n",
                           {"d": new.encrypt(old.decrypt(r["data"], aad=aad), aad=aad), "n": r["name"]})
                count += 1
            for r in tx.execute(_STORED_KEYS).fetchall():
                value = new.encrypt(old.decrypt(r["value"], aad="server_key"), aad="server_key")
                tx.execute("UPDATE server_keys SET value = :v WHERE name = :n", {"v": value, "n": r["name"]})
                count += 1
            tx.execute("UPDATE server_keys SET value = :v WHERE name = :n", {"v": new.key_check, "n": _CHECK})
        return count

    def is_live(self, sub: str, kid: str | None) -> bool:
        """Whether a token's principal still exists and (if it came from an API key) that key is not revoked."""
        rows = self.db.query("SELECT (SELECT COUNT(*) FROM principals WHERE id = :s) AS p,"
                             " (SELECT COUNT(*) FROM api_keys WHERE id = :k) AS k", {"s": sub, "k": kid or ""})
        return bool(rows and rows[0]["p"] and (kid is None or rows[0]["k"]))

    def signing_keys(self) -> tuple[bytes, ...]:
        """The token signing key first, then retired keys whose tokens are still accepted.

        KITARU_SERVER_SECRET_KEY (+ comma-separated KITARU_SERVER_PREVIOUS_SECRET_KEYS) if set, else
        the keys stored in the database (created on first use, shared by every replica).
        """
        env = os.environ.get("KITARU_SERVER_SECRET_KEY")
        if env:
            previous = os.environ.get("KITARU_SERVER_PREVIOUS_SECRET_KEYS", "")
            return (env.encode(), *(k.strip().encode() for k in previous.split(",") if k.strip()))
        rows = self._stored_keys()  # a read: replicas call this every KITARU_SERVER_KEY_REFRESH seconds
        if _SIGNING not in rows:  # the first server on this database creates the key
            self.db.execute_one(f"INSERT INTO server_keys (name, value, created_at) VALUES ('{_SIGNING}', :v, :t)"
                                " ON CONFLICT (name) DO NOTHING", {"v": self._seal(secrets.token_hex(32)), "t": now()})
            rows = self._stored_keys()
        return tuple(rows[n].encode() for n in (_SIGNING, _PREVIOUS) if n in rows)

    def _seal(self, value: str) -> str:
        return str(self.box.encrypt(value, aad="server_key"))

    def _stored_keys(self) -> dict[str, str]:
        return {r["name"]: self.box.decrypt(r["value"], aad="server_key") for r in self.db.query(_STORED_KEYS)}

    def encrypt_plaintext_keys(self) -> int:
        """Encrypt signing keys stored in plaintext by an older server; returns how many were rewritten."""
        from kitaru.store._crypto import is_encrypted

        count = 0
        for r in self.db.query(_STORED_KEYS):
            if not is_encrypted(r["value"]):
                self.db.execute_one("UPDATE server_keys SET value = :v WHERE name = :n AND value = :old",
                                    {"v": self._seal(r["value"]), "n": r["name"], "old": r["value"]})
                count += 1
        return count

    def rotate_signing_key(self, *, revoke_previous: bool = False) -> None:
        """Sign new tokens with a fresh key; tokens of the current key stay valid until the next rotation
        (or become invalid at once with `revoke_previous`, e.g. after a leak). Replicas pick it up within
        KITARU_SERVER_KEY_REFRESH seconds."""
        if os.environ.get("KITARU_SERVER_SECRET_KEY"):
            raise KitaruUsageError("this server signs with KITARU_SERVER_SECRET_KEY: set a new value and move the old"
                                   " one to KITARU_SERVER_PREVIOUS_SECRET_KEYS (remove it once its tokens expired)")
        self.signing_keys()  # make sure a current key exists
        t = now()
        with self.db.transaction() as tx:
            tx.execute(f"DELETE FROM server_keys WHERE name = '{_PREVIOUS}'")
            if not revoke_previous:
                tx.execute(f"INSERT INTO server_keys (name, value, created_at) SELECT '{_PREVIOUS}', value, :t"
                           f" FROM server_keys WHERE name = '{_SIGNING}'", {"t": t})
            tx.execute(f"UPDATE server_keys SET value = :v, created_at = :t WHERE name = '{_SIGNING}'",
                       {"v": self._seal(secrets.token_hex(32)), "t": t})

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
        """Delete a principal with its API keys and secret grants (its tokens stop working)."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM api_keys WHERE principal_id = :p", {"p": principal_id})
            tx.execute("DELETE FROM secret_grants WHERE principal_id = :p", {"p": principal_id})
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

    # --------------------------------------------------------------- secret grants
    def grant_secret(self, secret: str, principal_id: str) -> None:
        """Let a principal use a secret (in model aliases, and in its executions' runtimes)."""
        self.db.execute_one("INSERT INTO secret_grants (secret, principal_id, created_at) VALUES (:s, :p, :t)"
                            " ON CONFLICT (secret, principal_id) DO NOTHING",
                            {"s": secret, "p": principal_id, "t": now()})

    def revoke_secret(self, secret: str, principal_id: str) -> bool:
        """Withdraw a grant; False if there was none."""
        with self.db.transaction() as tx:
            return int(tx.execute("DELETE FROM secret_grants WHERE secret = :s AND principal_id = :p",
                                  {"s": secret, "p": principal_id}).rowcount) == 1

    def secret_grantees(self, secret: str) -> list[dict[str, Any]]:
        """Who holds a grant on a secret (name, id, role)."""
        rows = self.db.query("SELECT p.id, p.name, p.role FROM secret_grants g"
                             " JOIN principals p ON p.id = g.principal_id WHERE g.secret = :s ORDER BY p.name",
                             {"s": secret})
        return [dict(r) for r in rows]

    def may_use_secret(self, principal_id: str | None, secret: str) -> bool:
        """Admins may use every secret; others the secrets granted to them."""
        if principal_id is None:
            return False
        rows = self.db.query("SELECT p.role, (SELECT COUNT(*) FROM secret_grants g WHERE g.secret = :s AND"
                             " g.principal_id = p.id) AS granted FROM principals p WHERE p.id = :p",
                             {"s": secret, "p": principal_id})
        return bool(rows and (rows[0]["role"] == "admin" or rows[0]["granted"]))

    def role_of(self, principal_id: str | None) -> str | None:
        """A principal's current role (None if it does not exist)."""
        rows = self.db.query("SELECT role FROM principals WHERE id = :p", {"p": principal_id or ""})
        return str(rows[0]["role"]) if rows else None

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
