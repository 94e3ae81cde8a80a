"""The two real clients, pointed at a levpref server exactly as in ``reference/real-clients.md`` §2.1 and §3.2.

Each client comes in two modes:
- ``sync``: ``ccxt.krakenfutures``; ``kraken.futures.Market`` and ``kraken.futures.User``.
- ``async``: ``ccxt.async_support.krakenfutures``; ``kraken.futures.FuturesAsyncClient`` (the SDK's only async
  futures REST class: its ``request`` is called with the method, path and parameters the sync methods send).

An async client lives on one private event loop (``asyncio.Runner``, i.e. what ``asyncio.run`` uses) and is
driven through a blocking facade, so one test body exercises both modes. Clients are always closed (warnings are
errors). ``nonces`` replaces the client's nonce generation, to provoke ``nonceDuplicate``/``nonceBelowThreshold``.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as accxt
import pytest
from kraken.futures import FuturesAsyncClient, Market, User

from tests.support import world

Exchange = Any  # a ccxt ``krakenfutures``, sync or async behind the facade (ccxt ships no type information)
Mode = Literal["sync", "async"]
MODES: tuple[Mode, ...] = ("sync", "async")
Key = tuple[str, str]
NonceSource = Callable[[], str]
T = TypeVar("T")

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
PNL = "/derivatives/api/v3/pnlpreferences"
OPEN_POSITIONS = "/derivatives/api/v3/openpositions"
ACCOUNTS = "/derivatives/api/v3/accounts"


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _Blocking:
    """Every call on the wrapped async object that returns an awaitable is run to completion on ``runner``."""

    def __init__(self, target: object, runner: asyncio.Runner) -> None:
        self._target = target
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            return self._runner.run(_awaited(result)) if inspect.isawaitable(result) else result

        return call


# --- ccxt ---------------------------------------------------------------------------------------------------------


def ccxt_urls(base: str) -> dict[str, str]:
    return {
        "public": f"{base}/derivatives/api/",
        "private": f"{base}/derivatives/api/",
        "charts": f"{base}/api/charts/",
        "history": f"{base}/api/history/",
        "feeschedules": f"{base}/api/feeschedules/",
    }


class _SignsNonce:
    """ccxt ``krakenfutures`` that also sends a ``Nonce`` header and signs it (SPEC §2.1), its value from
    ``self.nonce()``. Stock ccxt never sends a Nonce (real-clients.md §2.2), so it can never meet a nonce error;
    this subclass only lets a test see how ccxt's own ``handle_errors`` maps the server's nonce replies."""

    def sign(
        self, path: str, api: list[str] | None = None, method: str = "GET", params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = super().sign(path, api or ["public"], method, params or {})  # type: ignore[misc]
        headers = request["headers"]
        if headers and "Authent" in headers:
            ex = cast(Any, self)
            url = urlsplit(request["url"])
            nonce = str(ex.nonce())
            digest = ex.hash(ex.encode(url.query + nonce + url.path.removeprefix("/derivatives")), "sha256", "binary")
            headers["Authent"] = ex.hmac(digest, ex.base64_to_binary(ex.secret), hashlib.sha512, "base64")
            headers["Nonce"] = nonce
        return request


class NonceSigningKrakenFutures(_SignsNonce, ccxt.krakenfutures):  # type: ignore[misc]
    pass


class AsyncNonceSigningKrakenFutures(_SignsNonce, accxt.krakenfutures):  # type: ignore[misc]
    pass


def _ccxt_config(key: Key) -> dict[str, Any]:
    return {"apiKey": key[0], "secret": key[1], "enableRateLimit": False, "timeout": 10_000}


@contextmanager
def ccxt_client(
    mode: Mode, base: str, key: Key = world.ALICE_FULL, *, nonces: NonceSource | None = None
) -> Iterator[Exchange]:
    """A ccxt ``krakenfutures`` (the async one behind the blocking facade)."""
    if mode == "sync":
        ex = (NonceSigningKrakenFutures if nonces else ccxt.krakenfutures)(_ccxt_config(key))
        ex.urls["api"] = ccxt_urls(base)
        if nonces:
            ex.nonce = nonces
        try:
            yield ex
        finally:
            ex.close()
        return

    async def make() -> Exchange:
        made = (AsyncNonceSigningKrakenFutures if nonces else accxt.krakenfutures)(_ccxt_config(key))
        made.urls["api"] = ccxt_urls(base)
        made.timeout_on_exit = 0  # close() waits 250 ms for TLS shutdowns (ccxt PR 23470); this is plain HTTP
        if nonces:
            made.nonce = nonces
        return made

    with asyncio.Runner() as runner:
        async_ex = runner.run(make())
        try:
            yield _Blocking(async_ex, runner)
        finally:
            runner.run(async_ex.close())


# --- python-kraken-sdk --------------------------------------------------------------------------------------------


class SdkClient:
    """The SDK calls the tests use, with the sync SDK's method names and arguments."""

    def set_leverage_preference(self, symbol: str, maxLeverage: str | float | None = None) -> Any:
        raise NotImplementedError

    def get_leverage_preference(self) -> Any:
        raise NotImplementedError

    def set_pnl_preference(self, symbol: str, pnlPreference: str) -> Any:
        raise NotImplementedError

    def get_pnl_preference(self) -> Any:
        raise NotImplementedError

    def get_open_positions(self) -> Any:
        raise NotImplementedError

    def get_wallets(self) -> Any:
        raise NotImplementedError


class SyncSdk(SdkClient):
    """``kraken.futures.Market`` (preferences) and ``kraken.futures.User`` (positions, wallets)."""

    def __init__(self, base: str, key: Key, nonces: NonceSource | None) -> None:
        self.market = Market(key=key[0], secret=key[1], url=base)
        self.user = User(key=key[0], secret=key[1], url=base)
        if nonces:
            self.market.get_nonce = nonces  # type: ignore[method-assign]
            self.user.get_nonce = nonces  # type: ignore[method-assign]

    def set_leverage_preference(self, symbol: str, maxLeverage: str | float | None = None) -> Any:
        return self.market.set_leverage_preference(symbol=symbol, maxLeverage=maxLeverage)

    def get_leverage_preference(self) -> Any:
        return self.market.get_leverage_preference()

    def set_pnl_preference(self, symbol: str, pnlPreference: str) -> Any:
        return self.market.set_pnl_preference(symbol=symbol, pnlPreference=pnlPreference)

    def get_pnl_preference(self) -> Any:
        return self.market.get_pnl_preference()

    def get_open_positions(self) -> Any:
        return self.user.get_open_positions()

    def get_wallets(self) -> Any:
        return self.user.get_wallets()

    def close(self) -> None:
        for client in (self.market, self.user):
            client._FuturesClient__session.close()  # type: ignore[union-attr]  # the SDK offers no close()


class AsyncSdk(SdkClient):
    """``kraken.futures.FuturesAsyncClient.request`` with exactly what the sync methods send."""

    def __init__(self, client: FuturesAsyncClient, runner: asyncio.Runner) -> None:
        self.client = client
        self._runner = runner

    def _request(self, method: str, uri: str, post_params: dict[str, Any] | None = None) -> Any:
        return self._runner.run(_awaited(self.client.request(method=method, uri=uri, post_params=post_params)))

    def set_leverage_preference(self, symbol: str, maxLeverage: str | float | None = None) -> Any:
        params: dict[str, Any] = {"symbol": symbol}
        if maxLeverage is not None:
            params["maxLeverage"] = maxLeverage
        return self._request("PUT", LEVERAGE, params)

    def get_leverage_preference(self) -> Any:
        return self._request("GET", LEVERAGE)

    def set_pnl_preference(self, symbol: str, pnlPreference: str) -> Any:
        return self._request("PUT", PNL, {"symbol": symbol, "pnlPreference": pnlPreference})

    def get_pnl_preference(self) -> Any:
        return self._request("GET", PNL)

    def get_open_positions(self) -> Any:
        return self._request("GET", OPEN_POSITIONS)

    def get_wallets(self) -> Any:
        return self._request("GET", ACCOUNTS)


@contextmanager
def sdk_client(
    mode: Mode, base: str, key: Key = world.ALICE_FULL, *, nonces: NonceSource | None = None
) -> Iterator[SdkClient]:
    if mode == "sync":
        sync = SyncSdk(base, key, nonces)
        try:
            yield sync
        finally:
            sync.close()
        return

    async def make() -> FuturesAsyncClient:  # aiohttp wants a running loop when its session is created
        made = FuturesAsyncClient(key=key[0], secret=key[1], url=base)
        if nonces:
            made.get_nonce = nonces  # type: ignore[method-assign]
        return made

    with asyncio.Runner() as runner:
        client = runner.run(make())
        try:
            yield AsyncSdk(client, runner)
        finally:
            runner.run(client.close())


# --- assertions ---------------------------------------------------------------------------------------------------


@contextmanager
def raises_exactly(cls: type[BaseException], fragment: str) -> Iterator[pytest.ExceptionInfo[BaseException]]:
    """The block raises an instance of exactly ``cls`` (not a subclass) whose message contains ``fragment``."""
    with pytest.raises(cls, match=re.escape(fragment)) as info:
        yield info
    assert type(info.value) is cls, f"{type(info.value).__module__}.{type(info.value).__name__} is not exactly {cls}"


def counting_nonces(start: int) -> NonceSource:
    """start, start + 1, start + 2, …"""
    counter = iter(range(start, start + 10**6))
    return lambda: str(next(counter))
