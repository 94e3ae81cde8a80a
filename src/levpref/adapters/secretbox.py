"""API secrets encrypted at rest with AES-256-GCM (SPEC §2.1).

Rules:
- The server needs each secret for HMAC, so secrets are encrypted, not hashed. The stored form is
  ``v1:`` + base64(12-byte nonce ‖ ciphertext ‖ tag), with the public key as associated data, so a ciphertext
  cannot be moved to another key.
- The master key (32 bytes) comes from configuration (base64; several comma-separated during a rotation) or a key
  file created 0600 on first start. A box seals with its first key and opens with any of its keys, so a rotation
  interrupted between re-sealing and renaming the key file (``master.key.new`` left beside it) still works.
- Secrets and the master key are never logged; ``repr`` of a box shows nothing.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1:"


class SecretBox:
    def __init__(self, master_key: bytes, *older: bytes) -> None:
        keys = (master_key, *older)
        if any(len(key) != 32 for key in keys):
            raise ValueError("a master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        self._all = [AESGCM(key) for key in keys]
        self._cache: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def seal(self, public_key: str, secret: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret, public_key.encode())
        return _VERSION + base64.b64encode(nonce + sealed).decode("ascii")

    def new_key_pair(self) -> tuple[str, str]:
        """A fresh API key (the ``Secrets`` port's source of keys)."""
        return new_key_pair()

    def open(self, public_key: str, stored: str) -> bytes | None:
        """The secret, or ``None`` if it was not sealed by this master key for this public key."""
        cached = self._cache.get(stored)
        if cached is not None:
            return cached
        if not stored.startswith(_VERSION):
            return None
        try:
            raw = base64.b64decode(stored[len(_VERSION) :])
        except ValueError:
            return None
        secret = None
        for aead in self._all:
            try:
                secret = aead.decrypt(raw[:12], raw[12:], public_key.encode())
                break
            except (InvalidTag, ValueError):
                continue
        if secret is None:
            return None
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[stored] = secret
        return secret


def load_master_keys(configured: str | None, key_file: Path) -> list[bytes]:
    """The master keys, sealing key first: from configuration (base64, comma-separated), else from ``key_file``
    (created 0600 when missing) followed by a pending ``key_file.new`` of an interrupted rotation."""
    if configured:
        return [base64.b64decode(part.strip()) for part in configured.split(",") if part.strip()]
    if not key_file.exists():
        write_key_file(key_file, secrets.token_bytes(32))
    keys = [base64.b64decode(key_file.read_text().strip())]
    pending = pending_key_file(key_file)
    if pending.exists():
        keys.append(base64.b64decode(pending.read_text().strip()))
    return keys


def pending_key_file(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".new")


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key file readable by its owner only, atomically, and never over an existing one: the key is
    written to a private temporary file that is then hard-linked into place (``link`` fails if the name exists), so
    several processes starting at once agree on one key and none ever reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(key).decode("ascii") + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: its key is the key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def new_key_pair() -> tuple[str, str]:
    """A 56-character public key and a secret of 64 random bytes in base64 (SPEC §2.1)."""
    public = base64.b64encode(secrets.token_bytes(42)).decode("ascii").replace("+", "A").replace("/", "B")
    return public, base64.b64encode(secrets.token_bytes(64)).decode("ascii")
