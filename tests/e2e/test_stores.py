"""What could differ between the stores but must not: answers are the same on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.support import world
from tests.support.server import ServerProcess
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
# Code-point order: 'X' < '_' < 'a'. A database collation such as en-US would put them otherwise.
SYMBOLS = ["PF_aUSD", "PF_XBTUSD", "PFXUSD", "PF_ETHUSD", "PF_XBTUSD_2"]


def test_lists_are_sorted_by_symbol_in_code_point_order_on_every_store(
    server: ServerProcess, http: httpx.Client
) -> None:
    scenario = world.scenario(alice_preferences=[{"symbol": s, "max_leverage": "5"} for s in SYMBOLS])
    listed = {i["symbol"] for i in scenario["instruments"]}
    for symbol in SYMBOLS:
        if symbol not in listed:
            scenario["instruments"].append({**scenario["instruments"][1], "symbol": symbol})
    server.load(scenario)

    got = call(http, "GET", LEVERAGE, world.ALICE_FULL).json()
    assert [p["symbol"] for p in got["leveragePreferences"]] == sorted(SYMBOLS)
    instruments = [i["symbol"] for i in http.get("/derivatives/api/v3/instruments").json()["instruments"]]
    assert instruments == sorted(instruments)
    assert set(SYMBOLS) <= set(instruments)
