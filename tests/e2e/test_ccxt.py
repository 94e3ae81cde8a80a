"""ccxt ``krakenfutures`` 4.5.90, sync and async, against a real levpref server (SPEC §5, real-clients.md §2).

Every test runs twice: ``[sync]`` with ``ccxt.krakenfutures`` and ``[async]`` with ``ccxt.async_support.krakenfutures``.
Errors must reach ccxt as the exact class its ``handle_errors`` maps them to (real-clients.md §2.4): business errors
(HTTP 500, shape B) → ``InsufficientFunds`` for 92 and plain ``ExchangeError`` otherwise; generic errors (HTTP 200,
shape A) → the class of ccxt's exact/broad tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import ccxt
import ccxt.async_support as accxt
import pytest

from tests.support import world
from tests.support.clients import (
    MODES,
    Exchange,
    Key,
    Mode,
    NonceSource,
    ccxt_client,
    ccxt_urls,
    counting_nonces,
    raises_exactly,
)
from tests.support.server import ServerProcess

BTC = "BTC/USD:USD"  # PF_XBTUSD
ETH = "ETH/USD:USD"  # PF_ETHUSD
HALT = "HALT/USD:USD"  # PF_HALTUSD, tradeable = false
INVERSE = "BTC/USD:BTC"  # PI_XBTUSD
DATED_INVERSE = "BTC/USD:BTC-261225"  # FI_XBTUSD_261225

MakeExchange = Callable[..., Exchange]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def make_ex(server: ServerProcess, mode: Mode) -> Iterator[MakeExchange]:
    """``make_ex(key=ALICE_FULL, nonces=None)``: a ccxt client of this test's mode, closed at the end."""
    with ExitStack() as stack:

        def make(key: Key = world.ALICE_FULL, nonces: NonceSource | None = None) -> Exchange:
            return stack.enter_context(ccxt_client(mode, server.base, key, nonces=nonces))

        yield make


@pytest.fixture
def ex(make_ex: MakeExchange) -> Exchange:
    return make_ex()


def leverages(ex: Exchange) -> dict[str, Any]:
    return {symbol: entry["longLeverage"] for symbol, entry in ex.fetch_leverages().items()}


def btc_position(ex: Exchange) -> dict[str, Any]:
    (position,) = ex.fetch_positions()
    assert position["symbol"] == BTC
    return dict(position)


def free_usd(ex: Exchange) -> float:
    return float(ex.fetch_balance()["USD"]["free"])


def world_b1() -> dict[str, Any]:
    """SPEC B: 20 000 USD; long 1 PF_XBTUSD @ 60 000, mark 50 000, cross."""
    return world.scenario(alice_usd="20000", marks={"PF_XBTUSD": "50000", "PF_ETHUSD": "3000"})


def world_e() -> dict[str, Any]:
    """SPEC E: 5 000 USD; long 0.1 PF_XBTUSD @ 60 000 (mark 61 000), short 2 PF_ETHUSD @ 3 000 (mark 3 100)."""
    return world.scenario(
        alice_usd="5000",
        alice_positions=[
            {"symbol": "PF_XBTUSD", "size": "0.1", "entry_price": "60000"},
            {"symbol": "PF_ETHUSD", "size": "-2", "entry_price": "3000"},
        ],
        marks={"PF_XBTUSD": "61000", "PF_ETHUSD": "3100"},
    )


# --- the unified and implicit methods -----------------------------------------------------------------------------


def test_load_markets_through_ccxt_maps_every_instrument_to_its_kraken_id(ex: Exchange) -> None:
    markets = ex.load_markets()
    ids = {symbol: market["id"] for symbol, market in markets.items()}
    assert ids == {
        BTC: "PF_XBTUSD",
        ETH: "PF_ETHUSD",
        HALT: "PF_HALTUSD",
        INVERSE: "PI_XBTUSD",
        DATED_INVERSE: "FI_XBTUSD_261225",
    }
    assert (markets[BTC]["linear"], markets[BTC]["swap"], markets[BTC]["active"]) == (True, True, True)
    assert markets[INVERSE]["inverse"] is True
    assert markets[DATED_INVERSE]["future"] is True
    assert markets[HALT]["active"] is False


def test_setting_leverage_10_through_ccxt_shows_10_in_fetch_leverages(ex: Exchange) -> None:
    assert leverages(ex) == {}
    reply = ex.set_leverage(10, BTC)
    assert reply == {"result": "success", "serverTime": reply["serverTime"]}
    assert leverages(ex) == {BTC: 10}
    assert ex.fetch_leverage(BTC)["longLeverage"] == 10


def test_fetch_leverage_through_ccxt_returns_the_requested_contract_not_the_first_isolated_one(ex: Exchange) -> None:
    ex.set_leverage(5, ETH)
    ex.set_leverage(10, BTC)
    assert leverages(ex) == {BTC: 10, ETH: 5}
    btc = ex.fetch_leverage(BTC)
    assert (btc["symbol"], btc["longLeverage"], btc["shortLeverage"]) == (BTC, 10, 10)
    assert ex.fetch_leverage(ETH)["longLeverage"] == 5


def test_fetch_leverage_through_ccxt_of_a_cross_contract_has_no_leverage(ex: Exchange) -> None:
    ex.set_leverage(5, ETH)
    btc = ex.fetch_leverage(BTC)
    assert (btc["longLeverage"], btc["shortLeverage"]) == (None, None)


def test_fetch_positions_through_ccxt_turns_from_cross_to_isolated_at_10_after_set_leverage_10(ex: Exchange) -> None:
    before = btc_position(ex)
    assert (before["marginMode"], before["leverage"], before["side"], before["contracts"]) == ("cross", None, "long", 1)
    assert before["entryPrice"] == 60000
    ex.set_leverage(10, BTC)
    after = btc_position(ex)
    assert (after["marginMode"], after["leverage"]) == ("isolated", 10)


def test_fetch_balance_through_ccxt_shows_free_margin_falling_from_8800_to_4000_after_leverage_10(
    ex: Exchange,
) -> None:
    before = ex.fetch_balance()
    assert (before["USD"]["total"], before["USD"]["free"]) == (10000, 8800)
    assert before["info"]["accounts"]["flex"]["initialMargin"] == 1200
    ex.set_leverage(10, BTC)
    after = ex.fetch_balance()
    assert (after["USD"]["total"], after["USD"]["free"]) == (10000, 4000)
    assert after["info"]["accounts"]["flex"]["initialMargin"] == 6000
    assert after["info"]["accounts"]["flex"]["availableMargin"] == 4000


def test_the_implicit_put_without_max_leverage_through_ccxt_returns_the_contract_to_cross(ex: Exchange) -> None:
    ex.set_leverage(10, BTC)
    assert free_usd(ex) == 4000
    reply = ex.privatePutLeveragepreferences({"symbol": "PF_XBTUSD"})
    assert reply["result"] == "success"
    assert leverages(ex) == {}
    assert btc_position(ex)["marginMode"] == "cross"
    assert free_usd(ex) == 8800


def test_setting_the_same_leverage_twice_through_ccxt_succeeds_and_moves_no_margin(ex: Exchange) -> None:
    ex.set_leverage(10, BTC)
    assert ex.set_leverage(10, BTC)["result"] == "success"
    assert leverages(ex) == {BTC: 10}
    assert free_usd(ex) == 4000


def test_leverage_4_in_world_b_through_ccxt_isolates_12500_and_leaves_7500_free(
    server: ServerProcess, ex: Exchange
) -> None:
    server.load(world_b1())
    assert free_usd(ex) == 9000
    ex.set_leverage(4, BTC)
    assert leverages(ex) == {BTC: 4}
    assert free_usd(ex) == 7500


def test_eth_leverage_10_in_world_e_through_ccxt_moves_free_margin_from_4654_to_4358(
    server: ServerProcess, ex: Exchange
) -> None:
    server.load(world_e())
    assert free_usd(ex) == 4654
    ex.set_leverage(10, ETH)
    assert leverages(ex) == {ETH: 10}
    eth = next(p for p in ex.fetch_positions() if p["symbol"] == ETH)
    assert (eth["marginMode"], eth["leverage"], eth["side"]) == ("isolated", 10, "short")
    assert free_usd(ex) == 4358


def test_pnl_preferences_through_ccxt_implicit_methods_round_trip(ex: Exchange) -> None:
    assert ex.privateGetPnlpreferences()["preferences"] == []
    reply = ex.privatePutPnlpreferences({"symbol": "PF_XBTUSD", "pnlPreference": "BTC"})
    assert reply["result"] == "success"
    assert ex.privateGetPnlpreferences()["preferences"] == [{"symbol": "PF_XBTUSD", "pnlCurrency": "BTC"}]
    assert ex.fetch_positions()[0]["info"]["pnlCurrency"] == "BTC"


def test_async_ccxt_sets_two_contracts_concurrently_and_both_are_isolated(server: ServerProcess) -> None:
    async def scenario() -> dict[str, Any]:
        ex = accxt.krakenfutures(
            {"apiKey": world.ALICE_FULL[0], "secret": world.ALICE_FULL[1], "enableRateLimit": False}
        )
        ex.urls["api"] = ccxt_urls(server.base)
        try:
            await ex.load_markets()
            await asyncio.gather(ex.set_leverage(10, BTC), ex.set_leverage(5, ETH))
            return dict(await ex.fetch_leverages())
        finally:
            await ex.close()

    result = asyncio.run(scenario())
    assert {symbol: entry["longLeverage"] for symbol, entry in result.items()} == {BTC: 10, ETH: 5}


# --- business errors: HTTP 500, shape B ---------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["PF_NOPEUSD", "pf_xbtusd"])
def test_an_unknown_symbol_through_the_implicit_put_raises_exchange_error_with_code_87(
    ex: Exchange, symbol: str
) -> None:
    with raises_exactly(ccxt.ExchangeError, '{"code":87,"message":"CONTRACT_DOES_NOT_EXIST"}'):
        ex.privatePutLeveragepreferences({"symbol": symbol, "maxLeverage": 5})
    assert leverages(ex) == {}


@pytest.mark.parametrize("symbol", [INVERSE, DATED_INVERSE])
def test_setting_leverage_on_an_inverse_contract_through_ccxt_raises_exchange_error_with_code_88(
    ex: Exchange, symbol: str
) -> None:
    with raises_exactly(ccxt.ExchangeError, '{"code":88,"message":"CONTRACT_NOT_MULTI_COLLATERAL"}'):
        ex.set_leverage(5, symbol)
    assert leverages(ex) == {}


def test_leverage_50_in_world_b_through_ccxt_raises_exchange_error_with_code_41_and_stays_cross(
    server: ServerProcess, ex: Exchange
) -> None:
    server.load(world_b1())
    for leverage in (50, 5):  # SPEC B1, B2
        with raises_exactly(ccxt.ExchangeError, '{"code":41,"message":"WOULD_CAUSE_LIQUIDATION"}'):
            ex.set_leverage(leverage, BTC)
    assert leverages(ex) == {}
    assert btc_position(ex)["marginMode"] == "cross"
    assert free_usd(ex) == 9000


def test_leverage_2_after_leverage_10_through_ccxt_raises_insufficient_funds_and_keeps_10(ex: Exchange) -> None:
    ex.set_leverage(10, BTC)  # SPEC A1
    with raises_exactly(ccxt.InsufficientFunds, '{"code":92,"message":"INSUFFICIENT_MARGIN"}'):
        ex.set_leverage(2, BTC)  # SPEC A2
    assert leverages(ex) == {BTC: 10}
    assert free_usd(ex) == 4000


def test_eth_leverage_1_in_world_e_through_ccxt_raises_insufficient_funds_and_stays_cross(
    server: ServerProcess, ex: Exchange
) -> None:
    server.load(world_e())
    with raises_exactly(ccxt.InsufficientFunds, '{"code":92,"message":"INSUFFICIENT_MARGIN"}'):
        ex.set_leverage(1, ETH)  # SPEC E2
    assert leverages(ex) == {}
    assert free_usd(ex) == 4654


# --- generic errors: HTTP 200, shape A ----------------------------------------------------------------------------


def test_leverage_above_the_cap_of_50_through_ccxt_raises_bad_request_and_changes_nothing(ex: Exchange) -> None:
    ex.set_leverage(10, BTC)
    with raises_exactly(ccxt.BadRequest, '"error":"invalidArgument"'):
        ex.set_leverage(51, BTC)  # SPEC A3
    assert leverages(ex) == {BTC: 10}
    assert free_usd(ex) == 4000


def test_set_leverage_none_through_ccxt_raises_bad_request_because_it_sends_the_literal_none(ex: Exchange) -> None:
    with raises_exactly(ccxt.BadRequest, '"error":"invalidArgument"'):
        ex.set_leverage(None, BTC)
    assert leverages(ex) == {}


@pytest.mark.parametrize("params", [{"maxLeverage": 5}, {"symbol": "", "maxLeverage": 5}])
def test_a_put_without_a_symbol_through_ccxt_raises_bad_request_required_argument_missing(
    ex: Exchange, params: dict[str, Any]
) -> None:
    with raises_exactly(ccxt.BadRequest, '"error":"requiredArgumentMissing"'):
        ex.privatePutLeveragepreferences(params)
    assert leverages(ex) == {}


def test_setting_leverage_on_a_halted_contract_through_ccxt_raises_contract_unavailable(ex: Exchange) -> None:
    with raises_exactly(ccxt.ContractUnavailable, '"error":"marketUnavailable"'):
        ex.set_leverage(5, HALT)
    assert leverages(ex) == {}


def test_a_wrong_secret_through_ccxt_raises_authentication_error_and_changes_nothing(
    make_ex: MakeExchange, ex: Exchange
) -> None:
    impostor = make_ex((world.ALICE_FULL[0], world.BOB_FULL[1]))
    for call in (lambda: impostor.set_leverage(10, BTC), impostor.fetch_leverages, impostor.fetch_balance):
        with raises_exactly(ccxt.AuthenticationError, '"error":"authenticationError"'):
            call()
    assert leverages(ex) == {}


def test_an_unknown_key_through_ccxt_raises_authentication_error(make_ex: MakeExchange) -> None:
    stranger = make_ex(("Stranger" * 7, world.ALICE_FULL[1]))
    with raises_exactly(ccxt.AuthenticationError, '"error":"authenticationError"'):
        stranger.fetch_positions()
    with raises_exactly(ccxt.AuthenticationError, '"error":"authenticationError"'):
        stranger.set_leverage(10, BTC)


def test_a_read_only_key_through_ccxt_can_read_but_its_puts_raise_authentication_error(
    make_ex: MakeExchange, ex: Exchange
) -> None:
    reader = make_ex(world.ALICE_READ)
    ex.set_leverage(10, BTC)
    assert leverages(reader) == {BTC: 10}
    assert btc_position(reader)["marginMode"] == "isolated"
    assert float(reader.fetch_balance()["USD"]["free"]) == 4000
    assert reader.privateGetPnlpreferences()["preferences"] == []
    with raises_exactly(ccxt.AuthenticationError, '"error":"authenticationError"'):
        reader.privatePutLeveragepreferences({"symbol": "PF_XBTUSD"})
    with raises_exactly(ccxt.AuthenticationError, '"error":"authenticationError"'):
        reader.set_leverage(20, BTC)
    with raises_exactly(ccxt.AuthenticationError, '"error":"authenticationError"'):
        reader.privatePutPnlpreferences({"symbol": "PF_XBTUSD", "pnlPreference": "BTC"})
    assert leverages(ex) == {BTC: 10}
    assert ex.privateGetPnlpreferences()["preferences"] == []


def test_an_inactive_account_through_ccxt_raises_exchange_error_account_inactive(make_ex: MakeExchange) -> None:
    dormant = make_ex(world.DORMANT_FULL)
    with raises_exactly(ccxt.ExchangeError, '"error":"accountInactive"'):
        dormant.set_leverage(10, BTC)
    with raises_exactly(ccxt.ExchangeError, '"error":"accountInactive"'):
        dormant.fetch_leverages()


def test_puts_beyond_a_budget_of_20_through_ccxt_raise_rate_limit_exceeded_and_change_nothing(
    server: ServerProcess, make_ex: MakeExchange
) -> None:
    server.load(world.scenario(rate_budget=20))  # a PUT costs 10: the third one within 4 s cannot fit
    ex, reader = make_ex(), make_ex(world.ALICE_READ)  # the read-only key has its own budget
    accepted: list[int] = []
    with raises_exactly(ccxt.RateLimitExceeded, '"error":"apiLimitExceeded"'):
        for leverage in (10, 20, 10, 20, 10, 20, 10, 20):
            ex.set_leverage(leverage, BTC)
            accepted.append(leverage)
    assert 2 <= len(accepted) < 8
    assert leverages(reader) == {BTC: accepted[-1]}


def test_a_repeated_nonce_through_ccxt_raises_invalid_nonce_and_changes_nothing(make_ex: MakeExchange) -> None:
    ex = make_ex(nonces=lambda: "1700000000000")
    ex.set_leverage(10, BTC)
    with raises_exactly(ccxt.InvalidNonce, '"error":"nonceDuplicate"'):
        ex.set_leverage(20, BTC)
    with raises_exactly(ccxt.InvalidNonce, '"error":"nonceDuplicate"'):
        ex.fetch_leverages()
    assert leverages(make_ex()) == {BTC: 10}


def test_a_nonce_below_a_full_window_of_256_through_ccxt_raises_invalid_nonce(make_ex: MakeExchange) -> None:
    start = 1_700_000_000_000
    ex = make_ex(nonces=counting_nonces(start))
    for _ in range(256):
        ex.fetch_leverages()
    late = make_ex(nonces=lambda: str(start - 1))
    with raises_exactly(ccxt.InvalidNonce, '"error":"nonceBelowThreshold"'):
        late.set_leverage(10, BTC)
    assert leverages(ex) == {}
