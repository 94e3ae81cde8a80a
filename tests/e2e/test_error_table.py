"""``docs/errors.md`` cannot drift: each row is checked against the real clients.

- First table (errors levpref answers): every row is provoked on a live server with ccxt and python-kraken-sdk,
  sync and async, and the client must raise exactly the class of the row (or, for the SDK, return the reply).
- Second table (Kraken errors levpref does not send): the body Kraken would send is fed to each client's own error
  handling (ccxt's ``handle_errors``, the SDK's ``ErrorHandler.check``), which must agree with the row.
- Every error class of ``levpref.errors`` has a row, and every row of the first table has a way to provoke it.

Only the SQLite server is used: the mapping is the clients', the store does not change it.
"""

from __future__ import annotations

import builtins
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ccxt
import kraken.exceptions
import pytest
from kraken.base_api import ErrorHandler

from levpref import errors
from tests.support import world
from tests.support.clients import (
    LEVERAGE,
    MODES,
    Exchange,
    Key,
    Mode,
    NonceSource,
    SdkClient,
    ccxt_client,
    counting_nonces,
    raises_exactly,
    sdk_client,
)
from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
ANSWERED = "Errors levpref answers"
NOT_SENT = "Kraken errors levpref does not send"
BTC = "BTC/USD:USD"


@dataclass(frozen=True)
class Row:
    error: str  # the first code of the row: "authenticationError", "87", "404"…
    status: int
    shape: str
    ccxt: type[BaseException]
    sdk: type[BaseException] | None  # None: the SDK returns the reply dict


def _code(cell: str) -> str:
    found = re.search(r"`([^`]+)`", cell)
    assert found, f"no `code` in {cell!r}"
    return found[1]


def _sdk_class(cell: str) -> type[BaseException] | None:
    name = _code(cell)
    if name == "dict":
        return None
    if name == "Exception":
        return builtins.Exception
    cls: type[BaseException] = getattr(kraken.exceptions, name)
    return cls


def table(heading: str) -> list[Row]:
    """The rows of the table under ``## heading`` in docs/errors.md."""
    section = DOC.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] == "error" or set(cells[0]) <= {"-"}:
            continue
        status, shape = (part.strip() for part in cells[1].split(","))
        ccxt_class = getattr(ccxt, _code(cells[3]).removeprefix("ccxt."))
        rows.append(Row(_code(cells[0]), int(status), shape, ccxt_class, _sdk_class(cells[4])))
    assert rows, f"no table under {heading!r}"
    return rows


# --- how each error of the first table is provoked --------------------------------------------------------------
# ``provoke(server, make)`` sets the scene (through the admin API and calls that succeed) and returns the one call
# that must be refused. ``make(key=ALICE_FULL, nonces=None)`` gives a client of the test's kind and mode.

Make = Callable[..., Any]
Provoke = Callable[[ServerProcess, Make], Callable[[], Any]]


def world_b1() -> dict[str, Any]:
    return world.scenario(alice_usd="20000", marks={"PF_XBTUSD": "50000", "PF_ETHUSD": "3000"})


def _ccxt_provokers() -> dict[str, Provoke]:
    def rate_limited(server: ServerProcess, make: Make) -> Callable[[], Any]:
        server.load(world.scenario(rate_budget=20))  # a PUT costs 10; the budget refills 2 per second
        ex = make()
        ex.set_leverage(10, BTC)
        ex.set_leverage(20, BTC)
        return lambda: ex.set_leverage(10, BTC)

    def duplicate_nonce(server: ServerProcess, make: Make) -> Callable[[], Any]:
        ex = make(nonces=lambda: "1700000000000")
        ex.fetch_leverages()
        return lambda: ex.set_leverage(10, BTC)

    def low_nonce(server: ServerProcess, make: Make) -> Callable[[], Any]:
        start = 1_700_000_000_000
        ex = make(nonces=counting_nonces(start))
        for _ in range(256):
            ex.fetch_leverages()
        late = make(nonces=lambda: str(start - 1))
        return lambda: late.set_leverage(10, BTC)

    def margin_92(server: ServerProcess, make: Make) -> Callable[[], Any]:
        ex = make()
        ex.set_leverage(10, BTC)  # SPEC A1, then A2
        return lambda: ex.set_leverage(2, BTC)

    def liquidation_41(server: ServerProcess, make: Make) -> Callable[[], Any]:
        server.load(world_b1())
        ex = make()
        return lambda: ex.set_leverage(50, BTC)  # SPEC B1

    def call(make_call: Callable[[Exchange], Any], key: Key = world.ALICE_FULL) -> Provoke:
        return lambda server, make: (lambda ex: lambda: make_call(ex))(make(key))

    return {
        "authenticationError": call(lambda ex: ex.fetch_leverages(), (world.ALICE_FULL[0], world.BOB_FULL[1])),
        "accountInactive": call(lambda ex: ex.set_leverage(10, BTC), world.DORMANT_FULL),
        "apiLimitExceeded": rate_limited,
        "nonceDuplicate": duplicate_nonce,
        "nonceBelowThreshold": low_nonce,
        "requiredArgumentMissing": call(lambda ex: ex.privatePutLeveragepreferences({"maxLeverage": 5})),
        "marketUnavailable": call(lambda ex: ex.set_leverage(5, "HALT/USD:USD")),
        "invalidArgument": call(lambda ex: ex.set_leverage(51, BTC)),
        "87": call(lambda ex: ex.privatePutLeveragepreferences({"symbol": "pf_xbtusd", "maxLeverage": 5})),
        "88": call(lambda ex: ex.set_leverage(5, "BTC/USD:BTC")),
        "41": liquidation_41,
        "92": margin_92,
        "89": call(lambda ex: ex.privatePutPnlpreferences({"symbol": "PF_XBTUSD", "pnlPreference": "XYZ"})),
        "90": call(lambda ex: ex.privatePutPnlpreferences({"symbol": "PF_XBTUSD", "pnlPreference": "EUR"})),
        "404": call(lambda ex: ex.request("leveragepreferences/", ["private"], "GET")),
        "405": call(lambda ex: ex.request("instruments", ["public"], "PUT")),
    }


def _raw(sdk: SdkClient, method: str, uri: str) -> Any:
    """The SDK's generic signed ``request`` (sync ``Market.request``, async ``FuturesAsyncClient.request``)."""
    market = getattr(sdk, "market", None)
    if market is not None:
        return market.request(method=method, uri=uri)
    return sdk._request(method, uri)  # type: ignore[attr-defined]


def _sdk_provokers() -> dict[str, Provoke]:
    def rate_limited(server: ServerProcess, make: Make) -> Callable[[], Any]:
        server.load(world.scenario(rate_budget=20))
        sdk = make()
        sdk.set_leverage_preference("PF_XBTUSD", 10)
        sdk.set_leverage_preference("PF_XBTUSD", 20)
        return lambda: sdk.set_leverage_preference("PF_XBTUSD", 10)

    def duplicate_nonce(server: ServerProcess, make: Make) -> Callable[[], Any]:
        fixed = str(int(time.time() * 100_000_000))
        sdk = make(nonces=lambda: fixed)
        sdk.get_leverage_preference()
        return lambda: sdk.set_leverage_preference("PF_XBTUSD", 10)

    def low_nonce(server: ServerProcess, make: Make) -> Callable[[], Any]:
        start = int(time.time() * 100_000_000)
        sdk = make(nonces=counting_nonces(start))
        for _ in range(256):
            sdk.get_pnl_preference()
        late = make(nonces=lambda: str(start - 1))
        return lambda: late.set_leverage_preference("PF_XBTUSD", 10)

    def margin_92(server: ServerProcess, make: Make) -> Callable[[], Any]:
        sdk = make()
        sdk.set_leverage_preference("PF_XBTUSD", 10)
        return lambda: sdk.set_leverage_preference("PF_XBTUSD", 2)

    def liquidation_41(server: ServerProcess, make: Make) -> Callable[[], Any]:
        server.load(world_b1())
        sdk = make()
        return lambda: sdk.set_leverage_preference("PF_XBTUSD", 50)

    def call(make_call: Callable[[SdkClient], Any], key: Key = world.ALICE_FULL) -> Provoke:
        return lambda server, make: (lambda sdk: lambda: make_call(sdk))(make(key))

    return {
        "authenticationError": call(lambda s: s.get_leverage_preference(), (world.ALICE_FULL[0], world.BOB_FULL[1])),
        "accountInactive": call(lambda s: s.set_leverage_preference("PF_XBTUSD", 10), world.DORMANT_FULL),
        "apiLimitExceeded": rate_limited,
        "nonceDuplicate": duplicate_nonce,
        "nonceBelowThreshold": low_nonce,
        "requiredArgumentMissing": call(lambda s: s.set_leverage_preference("", 10)),
        "marketUnavailable": call(lambda s: s.set_leverage_preference("PF_HALTUSD", 5)),
        "invalidArgument": call(lambda s: s.set_leverage_preference("PF_XBTUSD", 51)),
        "87": call(lambda s: s.set_leverage_preference("pf_xbtusd", 5)),
        "88": call(lambda s: s.set_leverage_preference("PI_XBTUSD", 5)),
        "41": liquidation_41,
        "92": margin_92,
        "89": call(lambda s: s.set_pnl_preference("PF_XBTUSD", "XYZ")),
        "90": call(lambda s: s.set_pnl_preference("PF_XBTUSD", "EUR")),
        "404": call(lambda s: _raw(s, "GET", LEVERAGE + "/")),
        "405": call(lambda s: _raw(s, "PUT", "/derivatives/api/v3/instruments")),
    }


CCXT_PROVOKERS = _ccxt_provokers()
SDK_PROVOKERS = _sdk_provokers()
ANSWERED_ROWS = table(ANSWERED)
NOT_SENT_ROWS = table(NOT_SENT)


def _fragment(row: Row) -> str:
    """What the error body holds, as ccxt quotes it in its message."""
    if row.shape == "A":
        return f'"error":"{row.error}"'
    return f'"code":{row.error}' if row.status == 500 else f'"message":"{row.status} '


@pytest.fixture
def live(sqlite_server: ServerProcess) -> ServerProcess:
    sqlite_server.load(world.scenario())
    return sqlite_server


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def make_ccxt(live: ServerProcess, mode: Mode) -> Iterator[Make]:
    with ExitStack() as stack:

        def make(key: Key = world.ALICE_FULL, nonces: NonceSource | None = None) -> Exchange:
            return stack.enter_context(ccxt_client(mode, live.base, key, nonces=nonces))

        yield make


@pytest.fixture
def make_sdk(live: ServerProcess, mode: Mode) -> Iterator[Make]:
    with ExitStack() as stack:

        def make(key: Key = world.ALICE_FULL, nonces: NonceSource | None = None) -> SdkClient:
            return stack.enter_context(sdk_client(mode, live.base, key, nonces=nonces))

        yield make


# --- the tests ----------------------------------------------------------------------------------------------------


def test_every_error_levpref_can_answer_has_a_row_in_docs_errors_md() -> None:
    documented = {row.error for row in ANSWERED_ROWS + NOT_SENT_ROWS}
    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.KrakenError)}
    numbers = {
        str(cls.number)
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.BusinessError) and cls.number
    }
    assert codes | numbers | {"404", "405"} <= documented
    assert {row.error for row in ANSWERED_ROWS}.isdisjoint(row.error for row in NOT_SENT_ROWS)


def test_every_answered_row_has_a_way_to_provoke_it_with_each_client() -> None:
    rows = {row.error for row in ANSWERED_ROWS}
    assert set(CCXT_PROVOKERS) == rows
    assert set(SDK_PROVOKERS) == rows


@pytest.mark.parametrize("row", ANSWERED_ROWS, ids=lambda row: row.error)
def test_ccxt_raises_the_documented_class_for_each_error_levpref_answers(
    row: Row, live: ServerProcess, make_ccxt: Make
) -> None:
    refused_call = CCXT_PROVOKERS[row.error](live, make_ccxt)
    with raises_exactly(row.ccxt, _fragment(row)):
        refused_call()


@pytest.mark.parametrize("row", ANSWERED_ROWS, ids=lambda row: row.error)
def test_python_kraken_sdk_raises_or_returns_as_documented_for_each_error_levpref_answers(
    row: Row, live: ServerProcess, make_sdk: Make, mode: Mode
) -> None:
    refused_call = SDK_PROVOKERS[row.error](live, make_sdk)
    if row.sdk is None:
        reply = refused_call()
        assert (reply["result"], reply["error"]) == ("error", row.error)
    elif row.sdk is builtins.Exception:
        with raises_exactly(Exception, f"{row.status} - ") as info:
            refused_call()
        if mode == "sync":  # the async client puts aiohttp's repr in the message, not the body
            assert _fragment(row) in str(info.value)
    else:
        with raises_exactly(row.sdk, f"'error': '{row.error}'"):
            refused_call()


def _kraken_body(row: Row) -> dict[str, Any]:
    return {"result": "error", "serverTime": "2026-12-01T00:00:00.000Z", "error": row.error}


@pytest.mark.parametrize("row", NOT_SENT_ROWS, ids=lambda row: row.error)
def test_ccxt_error_handling_maps_each_kraken_error_levpref_does_not_send_as_documented(row: Row) -> None:
    ex = ccxt.krakenfutures()
    body = _kraken_body(row)
    text = json.dumps(body, separators=(",", ":"))
    with raises_exactly(row.ccxt, f'"error":"{row.error}"'):
        ex.handle_errors(row.status, "OK", "http://127.0.0.1/", "GET", {}, text, body, {}, "")


@pytest.mark.parametrize("row", NOT_SENT_ROWS, ids=lambda row: row.error)
def test_the_sdk_error_handling_maps_each_kraken_error_levpref_does_not_send_as_documented(row: Row) -> None:
    body = _kraken_body(row)
    if row.sdk is None:
        assert ErrorHandler().check(body) == body
    else:
        with raises_exactly(row.sdk, f"'error': '{row.error}'"):
            ErrorHandler().check(body)
