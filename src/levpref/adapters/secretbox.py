"""API secrets encrypted at rest with AES-256-GCM (SPEC §2.1).

Rules:
- The server needs each secret for HMAC, so secrets are encrypted, not hashed. The stored form is
  ``v1:`` + base64(12-byte nonce ‖ ciphertext ‖ tag), with the public key as associated data, so a ciphertext
  cannot be moved to another key.
- The master key (32 bytes) comes from configuration (base64) or a key file created 0600 on first start.
- Secrets and the master key are never logged; ``repr`` of a box shows nothing.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1:"


class SecretBox:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        self._cache: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def seal(self, public_key: str, secret: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret, public_key.encode())
        return _VERSION + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, public_key: str, stored: str) -> bytes | None:
        """The secret, or ``None`` if it was not sealed by this master key for this public key."""
        cached = self._cache.get(stored)
        if cached is not None:
            return cached
        if not stored.startswith(_VERSION):
            return None
        try:
            raw = base64.b64decode(stored[len(_VERSION) :])
            secret = self._aead.decrypt(raw[:12], raw[12:], public_key.encode())
        except (InvalidTag, ValueError):
            return None
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[stored] = secret
        return secret


def load_master_key(configured: str | None, key_file: Path) -> bytes:
    """The master key from configuration (base64), else from ``key_file``, created 0600 when missing."""
    if configured:
        return base64.b64decode(configured)
    if key_file.exists():
        return base64.b64decode(key_file.read_text().strip())
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
    return key


def new_key_pair() -> tuple[str, str]:
    """A 56-character public key and a secret of 64 random bytes in base64 (SPEC §2.1)."""
    public = base64.b64encode(secrets.token_bytes(42)).decode("ascii").replace("+", "A").replace("/", "B")
    return public, base64.b64encode(secrets.token_bytes(64)).decode("ascii")
