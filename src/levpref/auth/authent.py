"""Kraken Futures ``Authent`` (SPEC §2.1).

Rules:
- ``endpointPath`` is the request path with a leading ``/derivatives`` removed.
- ``postData`` is the raw query string exactly as received (no ``?``) followed by the raw body.
- ``nonce`` is the ``Nonce`` header, or ``""`` when absent.
- ``Authent = base64(HMAC-SHA512(key=base64decode(secret), msg=SHA256(postData + nonce + endpointPath)))``.
- The legacy form, where ``postData`` is the percent-decoded query string, is accepted too, but only when decoding
  does not change how the query splits into parameters (SPEC §2.4): a signature over ``maxLeverage=10`` must not
  authorise ``maxLeverage%3D10`` (one parameter named ``maxLeverage=10``, so the contract would go cross).
- Comparison is constant-time; a malformed ``Authent`` is simply a mismatch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import parse_qsl, unquote_plus

_PREFIX = "/derivatives"


def endpoint_path(path: str) -> str:
    """The signed path: ``/derivatives/api/v3/x`` → ``/api/v3/x``."""
    return path[len(_PREFIX) :] if path.startswith(_PREFIX) else path


def sign(secret: bytes, post_data: str, nonce: str, path: str) -> str:
    """The ``Authent`` for a request; ``secret`` is the decoded secret, ``path`` already the endpoint path."""
    return base64.b64encode(_mac(secret, post_data, nonce, path)).decode("ascii")


def _mac(secret: bytes, post_data: str, nonce: str, path: str) -> bytes:
    """``HMAC-SHA512(secret, SHA256(postData + nonce + endpointPath))``, raw."""
    digest = hashlib.sha256((post_data + nonce + path).encode("utf-8", "surrogateescape")).digest()
    return hmac.digest(secret, digest, "sha512")


def sign_b64(secret_b64: str, post_data: str, nonce: str, path: str) -> str:
    """``sign`` for a base64 secret, as clients hold it."""
    return sign(base64.b64decode(secret_b64), post_data, nonce, endpoint_path(path))


def decode_authent(authent: str) -> bytes | None:
    """The 64 raw bytes of a well-formed ``Authent``, or ``None``."""
    try:
        raw = base64.b64decode(authent.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if len(raw) == hashlib.sha512().digest_size else None


def verify(secret: bytes, raw_query: str, body: str, nonce: str, path: str, authent: str) -> bool:
    """Whether ``authent`` signs this request, in the encoded (current) or decoded (legacy) form."""
    presented = decode_authent(authent)
    if presented is None:
        return False
    signed_path = endpoint_path(path)
    if hmac.compare_digest(_mac(secret, raw_query + body, nonce, signed_path), presented):
        return True
    decoded = unquote_plus(raw_query)
    if decoded == raw_query or not hmac.compare_digest(_mac(secret, decoded + body, nonce, signed_path), presented):
        return False
    return same_split(raw_query, decoded)  # parsed only now: the signature over the decoded form is genuine


def same_split(raw_query: str, decoded: str) -> bool:
    """Whether the raw and the percent-decoded query parse to the same names and values, in the same order."""
    try:
        raw = parse_qsl(raw_query, keep_blank_values=True, errors="strict")
        again = parse_qsl(decoded, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return False
    return raw == again
