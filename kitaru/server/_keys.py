"""The server's encryption key (for secret values and signing keys at rest): where it comes from, and its check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.store._crypto import SecretBox, load_box

ENV = "KITARU_SERVER_ENCRYPTION_KEY"


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
    from kitaru.store import StateService
    from kitaru.store._identity import IdentityService

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
    from kitaru.store._identity import IdentityService

    if IdentityService(db).remember_key_check(box.key_check) != box.key_check:
        raise KitaruUsageError(
            f"the encryption key from {box.source} is not the key this database was encrypted with; start every"
            f" server of this database with the same {ENV} (or key file)")


def rotate_encryption_key(db: Any, old: SecretBox, new: SecretBox) -> int:
    """Re-encrypt every secret value and stored signing key with `new` (one transaction) and remember its
    fingerprint; returns how many values were re-encrypted. Stop the servers first, start them with `new`."""
    from kitaru.store._identity import IdentityService

    check_key(db, old)
    return IdentityService(db).reencrypt(old, new)
