from __future__ import annotations

import httpx

from tests.support import world
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"


def test_a_signed_put_then_get_round_trips(http: httpx.Client) -> None:
    put = call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")
    assert put.json()["result"] == "success", put.text
    got = call(http, "GET", LEVERAGE, world.ALICE_FULL)
    assert got.json()["leveragePreferences"] == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]
    assert b'"maxLeverage":10.00' in got.content
