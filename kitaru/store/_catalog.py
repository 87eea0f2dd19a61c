"""The catalog half of the state service: settings, secrets, model aliases and stacks.

Named JSON documents shared by everyone using one store; `StateService` inherits these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kitaru.store._guards import check_metadata, check_name
from kitaru.store._rows import dumps, now, to_dict

if TYPE_CHECKING:
    from kitaru.store._crypto import SecretBox


class CatalogService:
    """Settings, secrets, model aliases and stack specs over `self.db`."""

    db: Any
    box_loader: Callable[[], SecretBox] | None = None  # set by whoever opens the store for a server
    _secret_box: SecretBox | None = None

    def get_setting(self, key: str) -> Any:
        """A JSON setting (e.g. the active stack), or None."""
        rows = self.db.query("SELECT value FROM settings WHERE key = :k", {"k": key})
        return to_dict(rows[0])["value"] if rows else None

    def put_setting(self, key: str, value: Any) -> None:
        """Store a JSON setting."""
        check_name(key, "setting key")
        check_metadata(value, f"setting {key!r}")
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                {"k": key, "v": dumps(value)},
            )

    def secret_box(self) -> SecretBox:
        """The box secret values are encrypted with (see `kitaru.store._crypto`), loaded on first use.

        Whoever opens the store may set `box_loader` (a server does); an embedded SQLite file keeps its key
        next to it; any other database opened directly uses the key in the Kitaru home.
        """
        box = self._secret_box
        if box is None:
            loader = self.box_loader
            if loader is None:
                from kitaru.store._crypto import load_box

                path = getattr(self.db, "path", None)
                if path is None:  # a database opened directly (not by a server): the Kitaru home's key
                    from kitaru.config._paths import resolve_home

                    home = resolve_home()
                else:
                    home = Path(path).parent
                box = load_box(home, env="KITARU_ENCRYPTION_KEY")[0]
            else:
                box = loader()
            self._secret_box = box
        return box

    def _seal(self, name: str, data: dict[str, str]) -> str:
        return self.secret_box().encrypt(json.dumps(data, separators=(",", ":")), aad=f"secret:{name}")

    def _open(self, name: str, stored: str) -> dict[str, str]:
        values: dict[str, str] = json.loads(self.secret_box().decrypt(stored, aad=f"secret:{name}"))
        return values

    def put_secret(self, name: str, data: dict[str, str]) -> None:
        """Create or replace a secret (its values encrypted at rest)."""
        check_name(name, "secret name")
        for key in data:
            check_name(key, f"key of secret {name!r}")
        check_metadata(data, f"secret {name!r}")
        t = now()
        sealed = self._seal(name, data)
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO secrets (name, data, created_at, updated_at) VALUES (:n, :d, :t, :t)"
                " ON CONFLICT (name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                {"n": name, "d": sealed, "t": t},
            )

    def get_secret(self, name: str) -> dict[str, str] | None:
        """A secret's key/value data, or None."""
        rows = self.db.query("SELECT data FROM secrets WHERE name = :n", {"n": name})
        return self._open(name, rows[0]["data"]) if rows else None

    def list_secrets(self) -> list[dict[str, Any]]:
        """Secret names and their keys (never values)."""
        rows = self.db.query("SELECT * FROM secrets ORDER BY name")
        return [{"name": r["name"], "keys": sorted(self._open(r["name"], r["data"])), "created_at": r["created_at"],
                 "updated_at": r["updated_at"]} for r in rows]

    def encrypt_plaintext_secrets(self) -> int:
        """Encrypt secret values stored before encryption at rest existed; returns how many were rewritten."""
        from kitaru.store._crypto import is_encrypted

        count = 0
        for r in self.db.query("SELECT name, data FROM secrets"):
            if not is_encrypted(r["data"]):
                with self.db.transaction() as tx:
                    tx.execute("UPDATE secrets SET data = :d WHERE name = :n AND data = :old",
                               {"d": self._seal(r["name"], json.loads(r["data"])), "n": r["name"], "old": r["data"]})
                count += 1
        return count

    def delete_secret(self, name: str) -> bool:
        """Delete a secret (and its grants); False if it did not exist."""
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM secret_grants WHERE secret = :n", {"n": name})
            return bool(tx.execute("DELETE FROM secrets WHERE name = :n", {"n": name}).rowcount == 1)

    def put_model_alias(self, alias: str, model: str, secret: str | None, *, created_by: str | None = None) -> None:
        """Create or replace a model alias (`created_by`: the principal who wrote it, on a server)."""
        check_name(alias, "model alias")
        if secret is not None:
            check_name(secret, "secret name")
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO model_aliases (alias, model, secret, created_at, created_by) VALUES (:a, :m, :s, :t, :c)"
                " ON CONFLICT (alias) DO UPDATE SET model = excluded.model, secret = excluded.secret,"
                " created_by = excluded.created_by",
                {"a": alias, "m": model, "s": secret, "t": now(), "c": created_by},
            )

    def list_model_aliases(self) -> list[dict[str, Any]]:
        """All model aliases, sorted by alias."""
        return [to_dict(r) for r in self.db.query("SELECT * FROM model_aliases ORDER BY alias")]

    # -------------------------------------------------------------------- stacks
    def put_stack(self, name: str, spec: dict[str, Any]) -> None:
        """Create or replace a stack composition."""
        check_name(name, "stack name")
        check_metadata(spec, f"stack {name!r}")
        t = now()
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO stacks (name, spec, created_at, updated_at) VALUES (:n, :s, :t, :t)"
                " ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
                {"n": name, "s": dumps(spec), "t": t},
            )

    def get_stack(self, name: str) -> dict[str, Any] | None:
        """One stack row, or None."""
        rows = self.db.query("SELECT * FROM stacks WHERE name = :n", {"n": name})
        return to_dict(rows[0]) if rows else None

    def list_stacks(self) -> list[dict[str, Any]]:
        """All stacks, sorted by name."""
        return [to_dict(r) for r in self.db.query("SELECT * FROM stacks ORDER BY name")]

    def delete_stack(self, name: str) -> bool:
        """Delete a stack; False if it did not exist."""
        with self.db.transaction() as tx:
            return bool(tx.execute("DELETE FROM stacks WHERE name = :n", {"n": name}).rowcount == 1)
