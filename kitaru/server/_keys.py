"""The server's encryption key (for secret values and signing keys at rest) and private file modes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.store._crypto import SecretBox, load_box

ENV = "KITARU_SERVER_ENCRYPTION_KEY"
_CHECK = "encryption_key_check"


def server_home(home: Path | None = None) -> Path:
    """Where the server keeps its own files (the encryption key): KITARU_SERVER_HOME, else the Kitaru home."""
    if home is not None:
        return home
    explicit = os.environ.get("KITARU_SERVER_HOME") or os.environ.get("KITARU_HOME")
    if explicit:
        return Path(explicit).expanduser()
    from kitaru.config._paths import resolve_home

    return resolve_home()


def server_box(home: Path | None = None, *, create: bool = True) -> tuple[SecretBox, bool]:
    """The server's box: KITARU_SERVER_ENCRYPTION_KEY, else KITARU_SERVER_ENCRYPTION_KEY_FILE, else
    `encryption.key` in the server home (generated with mode 0600 if missing and `create`). (box, created)."""
    return load_box(server_home(home), env=ENV, create=create)


def prepare(db: Any, *, create: bool = True) -> tuple[SecretBox, bool]:
    """Load the server's key, check it against the database and encrypt values stored in plaintext by an
    older server (secret values, signing keys). Returns (box, whether the key file was generated now)."""
    from kitaru.server._identity import IdentityService
    from kitaru.store import StateService

    box, created = server_box(create=create)
    check_key(db, box)
    state = StateService(db)
    state.box_loader = lambda: box
    state.encrypt_plaintext_secrets()
    IdentityService(db, box).encrypt_plaintext_keys()
    return box, created


def check_key(db: Any, box: SecretBox) -> None:
    """Remember the key's fingerprint in the database; refuse a different key later (a replica or a restart
    with the wrong key would otherwise fail to read every secret, or write some with another key)."""
    from kitaru.store._rows import now

    db.execute_one("INSERT INTO server_keys (name, value, created_at) VALUES (:n, :v, :t)"
                   " ON CONFLICT (name) DO NOTHING",
                   {"n": _CHECK, "v": box.key_check, "t": now()})
    stored = db.query("SELECT value FROM server_keys WHERE name = :n", {"n": _CHECK})[0]["value"]
    if stored != box.key_check:
        raise KitaruUsageError(
            f"the encryption key from {box.source} is not the key this database was encrypted with; start every"
            f" server of this database with the same {ENV} (or key file)")


def make_private(database_url: str) -> None:
    """Tighten a server's SQLite file (and its WAL/SHM companions) to mode 0600 (new stores are created 0600)."""
    if not database_url.startswith("sqlite:///"):
        return
    path = Path(database_url.removeprefix("sqlite:///"))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            os.chmod(candidate, 0o600)


def rotate_encryption_key(db: Any, old: SecretBox, new: SecretBox) -> int:
    """Re-encrypt every secret value and stored signing key with `new` (one transaction) and remember its
    fingerprint; returns how many values were re-encrypted. Stop the servers first, start them with `new`."""
    from kitaru.server._identity import _PREVIOUS, _SIGNING

    check_key(db, old)
    count = 0
    with db.transaction() as tx:
        for r in tx.execute("SELECT name, data FROM secrets").fetchall():
            aad = f"secret:{r['name']}"
            tx.execute("UPDATE secrets SET data = :d WHERE name = :n",
                       {"d": new.encrypt(old.decrypt(r["data"], aad=aad), aad=aad), "n": r["name"]})
            count += 1
        for r in tx.execute(f"SELECT name, value FROM server_keys WHERE name IN ('{_SIGNING}', '{_PREVIOUS}')").fetchall():
            value = new.encrypt(old.decrypt(r["value"], aad="server_key"), aad="server_key")
            tx.execute("UPDATE server_keys SET value = :v WHERE name = :n", {"v": value, "n": r["name"]})
            count += 1
        tx.execute("UPDATE server_keys SET value = :v WHERE name = :n", {"v": new.key_check, "n": _CHECK})
    return count
