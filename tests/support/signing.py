"""Hand-signed Kraken requests (for what the real clients cannot send: bad input, replays)."""

from __future__ import annotations

import httpx

from levpref.auth.authent import sign_b64


def signed_headers(
    key: tuple[str, str], path: str, query: str = "", body: str = "", nonce: str | None = None
) -> dict[str, str]:
    headers = {"APIKey": key[0], "Authent": sign_b64(key[1], query + body, nonce or "", path)}
    if nonce is not None:
        headers["Nonce"] = nonce
    return headers


def call(
    client: httpx.Client,
    method: str,
    path: str,
    key: tuple[str, str] | None,
    query: str = "",
    body: str = "",
    nonce: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send exactly ``query`` (no re-encoding) and ``body``, signed by ``key`` unless it is None."""
    all_headers = dict(headers or {})
    if key is not None:
        all_headers.update(signed_headers(key, path, query, body, nonce))
    if body:
        all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    url = httpx.URL(path if not query else f"{path}?{query}")
    return client.request(method, url, content=body.encode() if body else None, headers=all_headers)
