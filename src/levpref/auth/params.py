"""The parameters a signed request carries (SPEC §1.2, §2.4).

Rules:
- Parameters come from the raw query string, or from a form-encoded body (``application/x-www-form-urlencoded``)
  **only when the query string is empty**. Kraken's ``Authent`` signs ``query + body`` as one string, so it does not
  say where the query ends: a request with both a non-empty query and a non-empty body could move a parameter
  across the boundary under the same signature, and is refused.
- Bytes that are not UTF-8, a body that is not a form, or both a query and a body → ``None`` (``invalidArgument``).
- This runs only after the signature has been verified: parsing is the request's first cost that grows with its
  size, and an unauthenticated client never pays it for the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs

Params = Mapping[str, list[str]]

FORM = "application/x-www-form-urlencoded"


def signed_params(raw_query: bytes, body: bytes, content_type: str) -> Params | None:
    """The request's parameters, or ``None`` when they cannot be read unambiguously."""
    if raw_query and body:
        return None
    if body and content_type.split(";")[0].strip().lower() != FORM:
        return None
    try:
        return parse_qs((body or raw_query).decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
