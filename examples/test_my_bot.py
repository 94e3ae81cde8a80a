"""Testing a trading bot's leverage logic against an offline Kraken Futures: levpref's pytest plugin.

Copy this file into your project, ``pip install levpref ccxt pytest`` and run ``pytest``. With levpref installed,
pytest loads the plugin by itself: the ``levpref_server`` fixture is a real levpref server process on a free port,
started for each test on the packaged demo world (account ``demo``: 10 000 USD and 0.5 BTC of collateral, long 2
PF_ETHUSD) and stopped afterwards. ``levpref_server.ccxt()`` is a ccxt ``krakenfutures`` already pointed at it, and
``levpref_server.admin`` plays the market: it moves marks and sets positions.
"""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

BTC = "BTC/USD:USD"  # ccxt's name for Kraken's PF_XBTUSD


def isolate(exchange: Any, symbol: str, leverage: float) -> str:
    """The bot under test: isolate ``symbol`` at ``leverage`` and say what happened."""
    try:
        exchange.set_leverage(leverage, symbol)
    except ccxt.InsufficientFunds:  # Kraken's 92 INSUFFICIENT_MARGIN: the isolated margin N / L is not free
        return "insufficient margin"
    except ccxt.ExchangeError as error:  # ccxt has no class for 41: a plain ExchangeError carrying the code
        if "WOULD_CAUSE_LIQUIDATION" in str(error):
            return "would liquidate"
        raise
    return "isolated"


def test_the_bot_isolates_a_fresh_long_at_10x(levpref_server: Any) -> None:
    levpref_server.admin.position("demo", "PF_XBTUSD", "1", "60000")  # long 1 BTC at the mark, 60 000
    exchange = levpref_server.ccxt()
    assert isolate(exchange, BTC, 10) == "isolated"  # allocates 60 000 / 10 = 6 000 USD
    assert exchange.fetch_leverage(BTC)["longLeverage"] == 10
    (position,) = (p for p in exchange.fetch_positions() if p["symbol"] == BTC)
    assert position["marginMode"] == "isolated"


def test_the_bot_reports_insufficient_margin_when_low_leverage_needs_more_than_is_free(levpref_server: Any) -> None:
    levpref_server.admin.position("demo", "PF_XBTUSD", "10", "60000")  # 600 000 USD of notional
    exchange = levpref_server.ccxt()
    assert isolate(exchange, BTC, 2) == "insufficient margin"  # 300 000 USD to allocate, about 25 000 free
    assert exchange.fetch_leverage(BTC)["longLeverage"] is None  # refused: still cross


def test_the_bot_reports_liquidation_when_the_mark_falls_far_below_its_entry(levpref_server: Any) -> None:
    levpref_server.admin.position("demo", "PF_XBTUSD", "1", "60000")
    levpref_server.admin.mark("PF_XBTUSD", "50000")  # the market falls: -10 000 USD unrealised
    exchange = levpref_server.ccxt()
    # At 10x the isolated pool would hold 5 000 USD against a 10 000 USD loss: below maintenance at once.
    assert isolate(exchange, BTC, 10) == "would liquidate"
    assert isolate(exchange, BTC, 4) == "isolated"  # 12 500 USD covers the loss and the 500 USD maintenance


@pytest.mark.levpref_scenario(
    {
        "instruments": [
            {
                "symbol": "PF_XBTUSD",
                "type": "flexible_futures",
                "tradeable": True,
                "margin_levels": [
                    {"num_non_contract_units": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"}
                ],
            }
        ],
        "collateral_currencies": {"USD": {"price": "1", "haircut": "0"}},
        "marks": {"PF_XBTUSD": "60000"},
        "accounts": [{"id": "bot", "collateral": {"USD": "1000"}, "keys": [{"access": "full"}]}],
    }
)
def test_a_world_of_your_own_comes_from_the_levpref_scenario_marker(levpref_server: Any) -> None:
    levpref_server.admin.position("bot", "PF_XBTUSD", "0.1", "60000")  # 6 000 USD of notional on 1 000 USD
    exchange = levpref_server.ccxt()  # signed with the first full-access key of the world: account "bot"
    assert isolate(exchange, BTC, 2) == "insufficient margin"  # 3 000 USD to allocate, 880 free
    assert isolate(exchange, BTC, 10) == "isolated"  # 600 USD
