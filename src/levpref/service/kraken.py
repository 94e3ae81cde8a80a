"""The Kraken-compatible use cases: authenticate, then set or read preferences and account state.

Rules (SPEC §1, §2):
- Order of checks: failed-auth limits of the client IP and of the named key → key, signature, nonce format →
  full access for PUTs → account active → nonce window → rate budget → the endpoint's own validation →
  the margin decision.
- Failed authentications charge two buckets: the client address's, and the one of that address *and* the named
  key (so guessing one key's secret from one address is slowed twice over, but a stranger who knows a public key
  cannot lock its owner out: the owner's address has buckets of its own). Everything else about a failed request
  is rolled back.
- Nothing is parsed before the signature is verified (SPEC §2.4): the parameters are read from the raw query (or,
  with an empty query, a form body) only after it; a request with both is ``invalidArgument``.
- Unknown, revoked or expired keys cost what a wrong signature costs: the same decryption and HMAC run against a
  dummy secret, so the time of a refusal does not tell whether a public key exists.
- A nonce that passes the window check is consumed whatever follows (SPEC §2.2, revised): a captured refused
  request cannot succeed later.
- A request that fits the rate budget is charged even when the endpoint then refuses it; one that does not fit
  is refused and not charged. A refusal writes nothing else (the endpoint decides before it writes).
- Everything a request does happens in one store transaction.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from levpref.auth.authent import verify
from levpref.auth.nonces import NonceVerdict, judge_nonce, nonce_key, parse_nonce
from levpref.auth.params import Params, signed_params
from levpref.errors import (
    AccountInactive,
    ApiLimitExceeded,
    AuthenticationError,
    EndpointRefusal,
    FailedAuthLimitExceeded,
    GateRefusal,
    InvalidArgument,
    NonceBelowThreshold,
    NonceDuplicate,
)
from levpref.ratelimit import KEY_PERIOD_MS, take
from levpref.service import preferences, preview
from levpref.service.guard import charge_failure, has_room_for_failure, locked_out
from levpref.service.ports import Secrets, Store, Tx
from levpref.service.records import ApiKeyRecord, NonceState


@dataclass(frozen=True, slots=True)
class KrakenRequest:
    """A private request as the HTTP edge received it."""

    method: str
    path: str
    raw_query: str  # as received, bytes that are not UTF-8 kept as surrogates (they are signed as sent)
    body: str
    content_type: str
    api_key: str | None
    authent: str | None
    nonce: str | None
    client_ip: str
    request_id: str
    now_ms: int
    params: Params | None = None  # set after authentication; ``None`` before, or when unreadable


@dataclass(frozen=True, slots=True)
class AuthSettings:
    nonce_window: int = 256
    require_nonce: bool = False
    failed_auth_limit: int = 20


_DUMMY_KEY = "levpref-dummy-key"


def _raw(text: str) -> bytes:
    """The bytes as received (the edge decoded them with ``surrogateescape``)."""
    return text.encode("utf-8", "surrogateescape")


Handler = Callable[[Tx, ApiKeyRecord, KrakenRequest], Awaitable[Any]]


class Endpoint(enum.Enum):
    """Private endpoints: rate cost, whether a full-access key is required, and whether the handler reads the
    account's preferences (read ahead with the key: one wait less on PostgreSQL)."""

    PUT_LEVERAGE = ("PUT leveragepreferences", 10, True, False)
    GET_LEVERAGE = ("GET leveragepreferences", 2, False, True)
    PREVIEW_LEVERAGE = ("GET leveragepreferences/preview", 2, False, False)
    PUT_PNL = ("PUT pnlpreferences", 10, True, False)
    GET_PNL = ("GET pnlpreferences", 2, False, True)
    GET_ACCOUNTS = ("GET accounts", 2, False, False)
    GET_OPEN_POSITIONS = ("GET openpositions", 2, False, True)

    @property
    def label(self) -> str:
        return str(self.value[0])

    @property
    def cost(self) -> int:
        return int(self.value[1])

    @property
    def needs_full_access(self) -> bool:
        return bool(self.value[2])

    @property
    def reads_preferences(self) -> bool:
        return bool(self.value[3])


_HANDLERS: dict[Endpoint, Handler] = {
    Endpoint.PUT_LEVERAGE: preferences.put_leverage,
    Endpoint.GET_LEVERAGE: preferences.get_leverage,
    Endpoint.PREVIEW_LEVERAGE: preview.preview_leverage,
    Endpoint.PUT_PNL: preferences.put_pnl,
    Endpoint.GET_PNL: preferences.get_pnl,
    Endpoint.GET_ACCOUNTS: preferences.get_accounts,
    Endpoint.GET_OPEN_POSITIONS: preferences.get_open_positions,
}


def _usable_key_name(api_key: str | None) -> TypeGuard[str]:
    """Whether an ``APIKey`` header can name a key: 1 to 128 characters, no NUL (the edge's mark of a duplicated
    header, and something PostgreSQL text cannot hold)."""
    return api_key is not None and 0 < len(api_key) <= 128 and "\x00" not in api_key


class KrakenService:
    def __init__(self, store: Store, secrets: Secrets, settings: AuthSettings) -> None:
        self._store = store
        self._secrets = secrets
        self._settings = settings
        self._dummy_sealed = secrets.seal(_DUMMY_KEY, os.urandom(64))  # opened instead of an unknown key's secret

    async def instruments(self) -> list[dict[str, Any]]:
        async with self._store.transaction() as tx:
            return [record.raw for record in await tx.instruments()]

    async def handle(self, endpoint: Endpoint, request: KrakenRequest) -> Any:
        """Authenticate, charge and run ``endpoint``; raises the refusal as a ``LevprefError``."""
        failure: Exception | None = None
        result: Any = None
        async with self._store.transaction() as tx:
            try:
                key, window = await self._authenticate(tx, endpoint, request)
                await self._spend(tx, key, window, endpoint, request)
                try:
                    params = signed_params(_raw(request.raw_query), _raw(request.body), request.content_type)
                    if params is None:
                        raise InvalidArgument
                    result = await _HANDLERS[endpoint](tx, key, replace(request, params=params))
                except EndpointRefusal as refusal:  # keep the charge and the nonce, write nothing else
                    failure = refusal
            except GateRefusal as refusal:  # keep what the gate charged (failed-auth buckets, a passed nonce)
                failure = refusal
        if failure is not None:
            raise failure
        return result

    async def _authenticate(
        self, tx: Tx, endpoint: Endpoint, request: KrakenRequest
    ) -> tuple[ApiKeyRecord, NonceState | None]:
        """The verified key and its window's state for the request's nonce; failures charge the failed-auth
        buckets of the client IP and of the named key.

        One statement reads the key (if it exists), the buckets and the nonce's state together, the same work for
        a known and an unknown key; a client whose buckets are empty is refused before its signature is checked.
        A request that cannot name a key reads only the buckets."""
        now = request.now_ms
        limit = self._settings.failed_auth_limit
        buckets = [f"ip:{request.client_ip}"]
        if _usable_key_name(request.api_key):
            buckets.append(f"ipkey:{request.client_ip} {request.api_key}")
        key: ApiKeyRecord | None = None
        window: NonceState | None = None
        if self._well_formed(request):
            assert request.api_key is not None
            stored = None if request.nonce is None else nonce_key(int(request.nonce))
            key, levels, window = await tx.lock_key_with_buckets(
                request.api_key, buckets, stored, preferences=endpoint.reads_preferences
            )
            if not has_room_for_failure(levels, limit, now):
                raise FailedAuthLimitExceeded
        elif await locked_out(tx, buckets, limit, now):
            raise FailedAuthLimitExceeded
        if not self._signed_by(key, request):
            if not await charge_failure(tx, buckets, limit, now):
                raise FailedAuthLimitExceeded
            raise AuthenticationError
        assert key is not None
        if endpoint.needs_full_access and key.access != "full":
            raise AuthenticationError
        if not key.account_active:
            raise AccountInactive
        return key, window

    def _well_formed(self, request: KrakenRequest) -> bool:
        """Whether the request names a key and carries what a signature needs (a well-formed nonce if any)."""
        if not _usable_key_name(request.api_key) or not request.authent:
            return False
        nonce = request.nonce
        if nonce is None:
            return not self._settings.require_nonce
        return parse_nonce(nonce) is not None

    def _signed_by(self, key: ApiKeyRecord | None, request: KrakenRequest) -> bool:
        """Whether ``key`` is usable and signed this request. An unknown, revoked or expired key costs what a wrong
        signature costs: the same decryption and HMAC run against a dummy secret."""
        if request.authent is None or not _usable_key_name(request.api_key):
            return False
        usable = key is not None and not key.revoked and (key.expires_ms is None or key.expires_ms > request.now_ms)
        if key is not None and usable:
            secret = self._secrets.open(key.public_key, key.secret_enc)
        else:
            secret = self._secrets.open(_DUMMY_KEY, self._dummy_sealed)
            usable = False
        if secret is None:
            return False
        signed = verify(secret, request.raw_query, request.body, request.nonce or "", request.path, request.authent)
        return signed and usable

    async def ping(self) -> None:
        """Touch the store (readiness)."""
        async with self._store.transaction() as tx:
            await tx.meta("schema")

    async def _spend(
        self, tx: Tx, key: ApiKeyRecord, window: NonceState | None, endpoint: Endpoint, request: KrakenRequest
    ) -> None:
        """Consume the nonce (it is kept whatever follows) and charge the rate budget, in one write of the key.
        A nonce that is a duplicate or below the window refuses the request and charges nothing; a request that
        does not fit the budget keeps its nonce consumed and is refused uncharged."""
        nonce, evict = self._judge_nonce(key, window, request)
        fits, bucket = take(key.bucket, endpoint.cost, key.rate_budget, KEY_PERIOD_MS, request.now_ms)
        await tx.save_key_use(key.public_key, bucket=bucket if fits else None, nonce=nonce, evict=evict)
        if not fits:
            raise ApiLimitExceeded

    def _judge_nonce(
        self, key: ApiKeyRecord, window: NonceState | None, request: KrakenRequest
    ) -> tuple[str | None, str | None]:
        """The nonce to keep and the one it evicts (storage forms); raises when the window refuses it."""
        if request.nonce is None or window is None:
            return None, None
        nonce = int(request.nonce)
        full = key.nonce_count >= self._settings.nonce_window
        smallest = window.smallest if full else None
        verdict = judge_nonce(
            nonce,
            known=window.known,
            kept=key.nonce_count,
            smallest=None if smallest is None else int(smallest),
            window=self._settings.nonce_window,
            floor=None if key.nonce_floor is None else int(key.nonce_floor),
        )
        if verdict is NonceVerdict.DUPLICATE:
            raise NonceDuplicate
        if verdict is NonceVerdict.BELOW_THRESHOLD:
            raise NonceBelowThreshold
        return nonce_key(nonce), smallest if verdict is NonceVerdict.ACCEPT_AND_EVICT else None
