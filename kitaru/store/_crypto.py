"""Encryption at rest for secret values and signing keys (AES-256-GCM, key from the environment or a file).

One mechanism for the server and the embedded store: a 32-byte key from `KITARU_SERVER_ENCRYPTION_KEY`
(server) / `KITARU_ENCRYPTION_KEY` (local mode), or from a key file (`..._KEY_FILE`, else `encryption.key`
in the home, created with mode 0600 on first use). Stored values read `enc1:<base64(nonce|ciphertext)>`;
older plaintext values still read (and are re-encrypted when the server starts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from kitaru.errors import KitaruBackendError, KitaruUsageError

PREFIX = "enc1:"
KEY_FILE_NAME = "encryption.key"


class SecretBox:
    """Encrypt and decrypt short text values with one key; `aad` binds a value to where it is stored."""

    def __init__(self, key: bytes, *, source: str = "") -> None:
        if len(key) != 32:
            raise KitaruUsageError("an encryption key must be 32 bytes (64 hex characters or 44 base64 characters);"
                                   " generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`")
        self._key, self.source = key, source

    @property
    def key_check(self) -> str:
        """A public fingerprint of the key (stored next to the data, so a wrong key is caught at start)."""
        return hmac.new(self._key, b"kitaru-encryption-key-check", hashlib.sha256).hexdigest()[:32]

    def encrypt(self, text: str, aad: str = "") -> str:
        """`enc1:` + base64(nonce | AES-GCM ciphertext)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._key).encrypt(nonce, text.encode(), aad.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, aad: str = "") -> str:
        """The plaintext of an `enc1:` value (a plaintext value from before encryption is returned as is)."""
        if not is_encrypted(stored):
            return stored
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        raw = base64.b64decode(stored[len(PREFIX):])
        try:
            return AESGCM(self._key).decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except InvalidTag:
            raise KitaruBackendError(
                f"cannot decrypt a stored value with the encryption key from {self.source or 'the environment'}:"
                " it is not the key the value was encrypted with; set the original key") from None


def is_encrypted(stored: str) -> bool:
    """Whether a stored value is an `enc1:` ciphertext."""
    return stored.startswith(PREFIX)


def parse_key(text: str) -> bytes:
    """A 32-byte key from 64 hex characters or (url-safe) base64."""
    text = text.strip()
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise KitaruUsageError("an encryption key must be 32 bytes as 64 hex characters or base64; generate one with"
                               " `python -c 'import secrets; print(secrets.token_hex(32))'`")
    return raw


def write_private(path: Path, text: str) -> None:
    """Create `path` with mode 0600 (never readable by others, not even for a moment) and write `text`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def load_box(home: Path, *, env: str, create: bool = True) -> tuple[SecretBox, bool]:
    """The box for a home: key from `env`, else the file `env + '_FILE'`, else `home/encryption.key`.

    Returns (box, created): `created` is True when this call generated the key file (mode 0600).
    """
    value = os.environ.get(env)
    if value:
        return SecretBox(parse_key(value), source=f"${env}"), False
    file_env = os.environ.get(f"{env}_FILE")
    path = Path(file_env).expanduser() if file_env else home / KEY_FILE_NAME
    created = False
    if not path.exists():
        if file_env or not create:
            raise KitaruUsageError(f"encryption key file {path} does not exist; set {env} or create the file"
                                   " (64 hex characters, mode 0600)")
        try:
            write_private(path, secrets.token_hex(32) + "\n")
            created = True
        except FileExistsError:
            pass  # another process created it first
    return SecretBox(parse_key(path.read_text()), source=str(path)), created
