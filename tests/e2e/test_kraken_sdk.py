"""python-kraken-sdk 3.5.1, sync and async, against a real levpref server (SPEC §5, real-clients.md §3).

Every test runs twice: ``[sync]`` with ``kraken.futures.Market`` / ``kraken.futures.User`` and ``[async]`` with
``kraken.futures.FuturesAsyncClient.request`` (the SDK has no async Market/User). The SDK's error handling
(real-clients.md §3.4, §3.5): any non-200 → a plain ``Exception("500 - …")``; on HTTP 200 an ``error`` string in its
table → ``KrakenAuthenticationError``, ``KrakenApiLimitExceededError``, ``KrakenRequiredArgumentMissingError``…; any
other ``error`` string (invalidArgument, nonceDuplicate, accountInactive, …) → the reply dict is returned as is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from kraken.exceptions import (
    KrakenApiLimitExceededError,
    KrakenAuthenticationError,
    KrakenRequiredArgumentMissingError,
)
from kraken.futures import FuturesAsyncClient, Market

from tests.support import world
from tests.support.clients import (
    LEVERAGE,
    MODES,
    Key,
    Mode,
    NonceSource,
    SdkClient,
    counting_nonces,
    raises_exactly,
    sdk_client,
)
from tests.support.server import ServerProcess

MakeSdk = Callable[..., SdkClient]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def make_sdk(server: ServerProcess, mode: Mode) -> Iterator[MakeSdk]:
    """``make_sdk(key=ALICE_FULL, nonces=None)``: an SDK client of this test's mode, closed at the end."""
    with ExitStack() as stack:

        def make(key: Key = world.ALICE_FULL, nonces: NonceSource | None = None) -> SdkClient:
            return stack.enter_context(sdk_client(mode, server.base, key, nonces=nonces))

        yield make


@pytest.fixture
def sdk(make_sdk: MakeSdk) -> SdkClient:
    return make_sdk()


def leverages(sdk: SdkClient) -> list[dict[str, Any]]:
    reply = sdk.get_leverage_preference()
    assert reply["result"] == "success", reply
    return reply["leveragePreferences"]  # type: ignore[no-any-return]


def flex(sdk: SdkClient) -> dict[str, Any]:
    return sdk.get_wallets()["accounts"]["flex"]  # type: ignore[no-any-return]


def refused(reply: Any, code: str) -> bool:
    """The SDK returned (did not raise) Kraken's generic error reply with this code."""
    return isinstance(reply, dict) and reply.get("result") == "error" and reply.get("error") == code


def sdk_nonce() -> int:
    """A nonce on the SDK's own scale (``time * 1e8``, 18 digits), above any it has sent before."""
    return int(time.time() * 100_000_000)


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


# --- the methods --------------------------------------------------------------------------------------------------


def test_setting_leverage_10_through_the_sdk_shows_10_in_get_leverage_preference(sdk: SdkClient) -> None:
    assert leverages(sdk) == []
    reply = sdk.set_leverage_preference("PF_XBTUSD", 10)
    assert reply == {"result": "success", "serverTime": reply["serverTime"]}
    assert leverages(sdk) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]


def test_get_leverage_preference_through_the_sdk_lists_isolated_contracts_sorted_with_fractional_leverage(
    sdk: SdkClient,
) -> None:
    sdk.set_leverage_preference("PF_XBTUSD", 7)
    sdk.set_leverage_preference("PF_ETHUSD", "2.5")
    assert leverages(sdk) == [
        {"symbol": "PF_ETHUSD", "maxLeverage": 2.5},
        {"symbol": "PF_XBTUSD", "maxLeverage": 7.0},
    ]


def test_setting_leverage_without_max_leverage_through_the_sdk_returns_the_contract_to_cross(sdk: SdkClient) -> None:
    sdk.set_leverage_preference("PF_XBTUSD", 10)
    assert flex(sdk)["availableMargin"] == 4000
    reply = sdk.set_leverage_preference("PF_XBTUSD")
    assert reply["result"] == "success"
    assert leverages(sdk) == []
    assert flex(sdk)["availableMargin"] == 8800
    assert "maxFixedLeverage" not in sdk.get_open_positions()["openPositions"][0]


def test_get_open_positions_through_the_sdk_carries_max_fixed_leverage_only_once_isolated(sdk: SdkClient) -> None:
    (before,) = sdk.get_open_positions()["openPositions"]
    assert {k: before[k] for k in ("side", "symbol", "price", "size", "pnlCurrency")} == {
        "side": "long",
        "symbol": "PF_XBTUSD",
        "price": 60000,
        "size": 1,
        "pnlCurrency": "USD",
    }
    assert "maxFixedLeverage" not in before
    sdk.set_leverage_preference("PF_XBTUSD", 10)
    (after,) = sdk.get_open_positions()["openPositions"]
    assert after["maxFixedLeverage"] == 10


def test_get_wallets_through_the_sdk_shows_the_flex_account_of_spec_a1_before_and_after_leverage_10(
    sdk: SdkClient,
) -> None:
    wallets = sdk.get_wallets()
    assert wallets["accounts"]["cash"] == {"type": "cashAccount", "balances": {}}
    before = wallets["accounts"]["flex"]
    assert before["type"] == "multiCollateralMarginAccount"
    assert (before["availableMargin"], before["initialMargin"], before["maintenanceMargin"]) == (8800, 1200, 600)
    assert before["currencies"]["USD"] == {"quantity": 10000, "value": 10000, "collateral": 10000, "available": 8800}
    sdk.set_leverage_preference("PF_XBTUSD", 10)
    after = flex(sdk)
    assert (after["availableMargin"], after["initialMargin"], after["maintenanceMargin"]) == (4000, 6000, 600)
    assert (after["marginEquity"], after["portfolioValue"]) == (10000, 10000)


def test_eth_leverage_10_in_world_e_through_the_sdk_moves_available_margin_from_4654_to_4358(
    server: ServerProcess, sdk: SdkClient
) -> None:
    server.load(world_e())
    assert flex(sdk)["availableMargin"] == 4654
    assert sdk.set_leverage_preference("PF_ETHUSD", 10)["result"] == "success"
    assert flex(sdk)["availableMargin"] == 4358
    eth = next(p for p in sdk.get_open_positions()["openPositions"] if p["symbol"] == "PF_ETHUSD")
    assert (eth["side"], eth["maxFixedLeverage"]) == ("short", 10)


def test_pnl_preference_through_the_sdk_round_trips_and_shows_on_the_position(sdk: SdkClient) -> None:
    assert sdk.get_pnl_preference()["preferences"] == []
    assert sdk.set_pnl_preference("PF_XBTUSD", "BTC")["result"] == "success"
    assert sdk.get_pnl_preference()["preferences"] == [{"symbol": "PF_XBTUSD", "pnlCurrency": "BTC"}]
    assert sdk.get_open_positions()["openPositions"][0]["pnlCurrency"] == "BTC"


def test_the_async_sdk_client_sets_two_contracts_concurrently_and_both_are_isolated(server: ServerProcess) -> None:
    async def scenario() -> Any:
        async with FuturesAsyncClient(key=world.ALICE_FULL[0], secret=world.ALICE_FULL[1], url=server.base) as c:
            await asyncio.gather(
                c.request("PUT", LEVERAGE, post_params={"symbol": "PF_XBTUSD", "maxLeverage": 10}),
                c.request("PUT", LEVERAGE, post_params={"symbol": "PF_ETHUSD", "maxLeverage": 5}),
            )
            return await c.request("GET", LEVERAGE)

    assert asyncio.run(scenario())["leveragePreferences"] == [
        {"symbol": "PF_ETHUSD", "maxLeverage": 5.0},
        {"symbol": "PF_XBTUSD", "maxLeverage": 10.0},
    ]


def test_the_sdk_get_with_extra_params_is_refused_because_it_signs_a_query_it_does_not_send(
    server: ServerProcess,
) -> None:
    """real-clients.md §3.6: the SDK hashes ``symbol=…`` into Authent but sends no query; a correct server refuses."""
    market = Market(key=world.ALICE_FULL[0], secret=world.ALICE_FULL[1], url=server.base)
    with raises_exactly(KrakenAuthenticationError, "'error': 'authenticationError'"):
        market.get_leverage_preference(extra_params={"symbol": "PF_XBTUSD"})
    market._FuturesClient__session.close()  # type: ignore[attr-defined]


# --- business errors: HTTP 500, shape B → a bare Exception --------------------------------------------------------


@pytest.mark.parametrize("symbol", ["PF_NOPEUSD", "pf_xbtusd"])
def test_an_unknown_symbol_through_the_sdk_raises_a_bare_500_exception_with_code_87(
    mode: Mode, sdk: SdkClient, symbol: str
) -> None:
    with raises_exactly(Exception, "500 - ") as info:
        sdk.set_leverage_preference(symbol, 5)
    if mode == "sync":
        assert '{"code":87,"message":"CONTRACT_DOES_NOT_EXIST"}' in str(info.value)
    assert leverages(sdk) == []


@pytest.mark.parametrize("symbol", ["PI_XBTUSD", "FI_XBTUSD_261225"])
def test_an_inverse_contract_through_the_sdk_raises_a_bare_500_exception_with_code_88(
    mode: Mode, sdk: SdkClient, symbol: str
) -> None:
    with raises_exactly(Exception, "500 - ") as info:
        sdk.set_leverage_preference(symbol, 5)
    if mode == "sync":
        assert '{"code":88,"message":"CONTRACT_NOT_MULTI_COLLATERAL"}' in str(info.value)
    assert leverages(sdk) == []


def test_an_unknown_pnl_contract_through_the_sdk_raises_a_bare_500_exception_with_code_87(
    mode: Mode, sdk: SdkClient
) -> None:
    with raises_exactly(Exception, "500 - ") as info:
        sdk.set_pnl_preference("PF_NOPEUSD", "BTC")
    if mode == "sync":
        assert '"code":87' in str(info.value)
    assert sdk.get_pnl_preference()["preferences"] == []


def test_leverage_50_in_world_b_through_the_sdk_raises_a_bare_500_exception_with_code_41_and_stays_cross(
    server: ServerProcess, mode: Mode, sdk: SdkClient
) -> None:
    server.load(world_b1())
    for leverage in (50, 5):  # SPEC B1, B2
        with raises_exactly(Exception, "500 - ") as info:
            sdk.set_leverage_preference("PF_XBTUSD", leverage)
        if mode == "sync":
            assert '{"code":41,"message":"WOULD_CAUSE_LIQUIDATION"}' in str(info.value)
    assert leverages(sdk) == []
    assert flex(sdk)["availableMargin"] == 9000


def test_leverage_2_after_leverage_10_through_the_sdk_raises_a_bare_500_exception_with_code_92_and_keeps_10(
    mode: Mode, sdk: SdkClient
) -> None:
    sdk.set_leverage_preference("PF_XBTUSD", 10)  # SPEC A1
    with raises_exactly(Exception, "500 - ") as info:
        sdk.set_leverage_preference("PF_XBTUSD", 2)  # SPEC A2
    if mode == "sync":
        assert '{"code":92,"message":"INSUFFICIENT_MARGIN"}' in str(info.value)
    assert leverages(sdk) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]
    assert flex(sdk)["availableMargin"] == 4000


def test_eth_leverage_1_in_world_e_through_the_sdk_raises_a_bare_500_exception_with_code_92(
    server: ServerProcess, mode: Mode, sdk: SdkClient
) -> None:
    server.load(world_e())
    with raises_exactly(Exception, "500 - ") as info:
        sdk.set_leverage_preference("PF_ETHUSD", 1)  # SPEC E2
    if mode == "sync":
        assert '{"code":92,"message":"INSUFFICIENT_MARGIN"}' in str(info.value)
    assert leverages(sdk) == []
    assert flex(sdk)["availableMargin"] == 4654


# --- generic errors: HTTP 200, shape A ----------------------------------------------------------------------------


@pytest.mark.parametrize("max_leverage", [51, "None", "1e2", "0", "-3", "2.555"])
def test_an_invalid_max_leverage_through_the_sdk_is_returned_as_an_invalid_argument_reply_and_changes_nothing(
    sdk: SdkClient, max_leverage: str | int
) -> None:
    sdk.set_leverage_preference("PF_XBTUSD", 10)
    assert refused(sdk.set_leverage_preference("PF_XBTUSD", max_leverage), "invalidArgument")
    assert leverages(sdk) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]
    assert flex(sdk)["availableMargin"] == 4000


def test_an_empty_symbol_through_the_sdk_raises_kraken_required_argument_missing_error(sdk: SdkClient) -> None:
    with raises_exactly(KrakenRequiredArgumentMissingError, "'error': 'requiredArgumentMissing'"):
        sdk.set_leverage_preference("", 10)
    with raises_exactly(KrakenRequiredArgumentMissingError, "'error': 'requiredArgumentMissing'"):
        sdk.set_pnl_preference("", "BTC")
    assert leverages(sdk) == []


def test_a_halted_contract_through_the_sdk_is_returned_as_a_market_unavailable_reply(sdk: SdkClient) -> None:
    assert refused(sdk.set_leverage_preference("PF_HALTUSD", 5), "marketUnavailable")
    assert leverages(sdk) == []


def test_a_wrong_secret_through_the_sdk_raises_kraken_authentication_error_and_changes_nothing(
    make_sdk: MakeSdk, sdk: SdkClient
) -> None:
    impostor = make_sdk((world.ALICE_FULL[0], world.BOB_FULL[1]))
    calls: list[Callable[[], Any]] = [
        lambda: impostor.set_leverage_preference("PF_XBTUSD", 10),
        impostor.get_leverage_preference,
        impostor.get_open_positions,
        impostor.get_wallets,
    ]
    for call in calls:
        with raises_exactly(KrakenAuthenticationError, "'error': 'authenticationError'"):
            call()
    assert leverages(sdk) == []


def test_an_unknown_key_through_the_sdk_raises_kraken_authentication_error(make_sdk: MakeSdk) -> None:
    stranger = make_sdk(("Stranger" * 7, world.ALICE_FULL[1]))
    with raises_exactly(KrakenAuthenticationError, "'error': 'authenticationError'"):
        stranger.get_pnl_preference()
    with raises_exactly(KrakenAuthenticationError, "'error': 'authenticationError'"):
        stranger.set_leverage_preference("PF_XBTUSD", 10)


def test_a_read_only_key_through_the_sdk_can_read_but_its_puts_raise_kraken_authentication_error(
    make_sdk: MakeSdk, sdk: SdkClient
) -> None:
    reader = make_sdk(world.ALICE_READ)
    sdk.set_leverage_preference("PF_XBTUSD", 10)
    assert leverages(reader) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]
    assert reader.get_open_positions()["openPositions"][0]["maxFixedLeverage"] == 10
    assert flex(reader)["availableMargin"] == 4000
    assert reader.get_pnl_preference()["preferences"] == []
    with raises_exactly(KrakenAuthenticationError, "'error': 'authenticationError'"):
        reader.set_leverage_preference("PF_XBTUSD")
    with raises_exactly(KrakenAuthenticationError, "'error': 'authenticationError'"):
        reader.set_leverage_preference("PF_XBTUSD", 20)
    with raises_exactly(KrakenAuthenticationError, "'error': 'authenticationError'"):
        reader.set_pnl_preference("PF_XBTUSD", "BTC")
    assert leverages(sdk) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]
    assert sdk.get_pnl_preference()["preferences"] == []


def test_an_inactive_account_through_the_sdk_is_returned_as_an_account_inactive_reply(make_sdk: MakeSdk) -> None:
    dormant = make_sdk(world.DORMANT_FULL)
    assert refused(dormant.set_leverage_preference("PF_XBTUSD", 10), "accountInactive")
    assert refused(dormant.get_leverage_preference(), "accountInactive")
    assert refused(dormant.get_wallets(), "accountInactive")


def test_puts_beyond_a_budget_of_20_through_the_sdk_raise_kraken_api_limit_exceeded_error_and_change_nothing(
    server: ServerProcess, make_sdk: MakeSdk
) -> None:
    server.load(world.scenario(rate_budget=20))  # a PUT costs 10: the third one within 4 s cannot fit
    sdk, reader = make_sdk(), make_sdk(world.ALICE_READ)  # the read-only key has its own budget
    accepted: list[int] = []
    with raises_exactly(KrakenApiLimitExceededError, "'error': 'apiLimitExceeded'"):
        for leverage in (10, 20, 10, 20, 10, 20, 10, 20):
            assert sdk.set_leverage_preference("PF_XBTUSD", leverage)["result"] == "success"
            accepted.append(leverage)
    assert 2 <= len(accepted) < 8
    assert leverages(reader) == [{"symbol": "PF_XBTUSD", "maxLeverage": float(accepted[-1])}]


def test_a_repeated_nonce_through_the_sdk_is_returned_as_a_nonce_duplicate_reply_and_changes_nothing(
    make_sdk: MakeSdk,
) -> None:
    fixed = str(sdk_nonce())
    replayer = make_sdk(nonces=lambda: fixed)
    assert replayer.set_leverage_preference("PF_XBTUSD", 10)["result"] == "success"
    assert refused(replayer.set_leverage_preference("PF_XBTUSD", 20), "nonceDuplicate")
    assert refused(replayer.get_leverage_preference(), "nonceDuplicate")
    assert leverages(make_sdk()) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]


def test_a_nonce_below_a_full_window_of_256_through_the_sdk_is_returned_as_a_nonce_below_threshold_reply(
    make_sdk: MakeSdk,
) -> None:
    start = sdk_nonce()
    counted = make_sdk(nonces=counting_nonces(start))
    for _ in range(256):
        assert counted.get_pnl_preference()["result"] == "success"
    late = make_sdk(nonces=lambda: str(start - 1))
    assert refused(late.set_leverage_preference("PF_XBTUSD", 10), "nonceBelowThreshold")
    assert leverages(counted) == []
