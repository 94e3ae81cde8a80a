"""GET /leveragepreferences/preview (SPEC §6.1): the PUT's validation and decision, with the numbers, and no change."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support import world
from tests.support.server import ServerProcess
from tests.support.signing import call
from tests.support.state import capture

BASE = "/derivatives/api/v3"
LEVERAGE = f"{BASE}/leveragepreferences"
PREVIEW = f"{LEVERAGE}/preview"
ACCOUNTS = f"{BASE}/accounts"


def preview(client: httpx.Client, query: str, key: tuple[str, str] = world.ALICE_READ) -> dict[str, Any]:
    response = call(client, "GET", PREVIEW, key, query)
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["result"] == "success", response.text
    assert "error" not in body
    return dict(body["preview"])


def test_previewing_a1_shows_the_allocation_the_pools_and_both_liquidation_prices(
    server: ServerProcess, http: httpx.Client
) -> None:
    p = preview(http, "symbol=PF_XBTUSD&maxLeverage=10")
    assert (p["outcome"], p["error"], p["rule"], p["failedPool"]) == ("accepted", None, "marginSufficient", None)
    assert p["marginMode"] == {"before": "cross", "after": "isolated"}
    assert p["maxLeverage"] == {"before": None, "after": 10.0}
    assert p["allocatedMargin"] == {"before": None, "after": 6000}
    assert p["marginMoved"] == 6000
    assert p["before"]["cross"] == {"equity": 10000, "initialMargin": 1200, "maintenanceMargin": 600,
                                    "availableMargin": 8800}  # fmt: skip
    assert p["before"]["isolated"] is None
    assert p["after"]["cross"] == {"equity": 4000, "initialMargin": 0, "maintenanceMargin": 0,
                                   "availableMargin": 4000}  # fmt: skip
    assert p["after"]["isolated"] == {"equity": 6000, "initialMargin": 1200, "maintenanceMargin": 600,
                                      "availableMargin": 4800, "allocatedMargin": 6000}  # fmt: skip
    # cross: 10 000 + (p − 60 000) = 0.01·p → p = 50 000 / 0.99; isolated: 6 000 + (p − 60 000) = 0.01·p
    assert p["liquidationPrice"] == {"before": 50505.05050506, "after": 54545.45454546}


def test_a_preview_changes_nothing_and_the_put_then_agrees_with_it(server: ServerProcess, http: httpx.Client) -> None:
    before = capture(server, http)
    shown = preview(http, "symbol=PF_XBTUSD&maxLeverage=10")
    assert capture(server, http) == before
    assert (
        call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10").json()["result"] == "success"
    )
    flex = call(http, "GET", ACCOUNTS, world.ALICE_FULL).json()["accounts"]["flex"]
    assert flex["availableMargin"] == shown["after"]["cross"]["availableMargin"]
    assert flex["initialMargin"] == shown["allocatedMargin"]["after"]
    again = preview(http, "symbol=PF_XBTUSD&maxLeverage=10")
    assert (again["outcome"], again["rule"]) == ("unchanged", "unchanged")
    assert again["before"] == again["after"] == shown["after"]
    assert again["liquidationPrice"]["before"] == shown["liquidationPrice"]["after"]


@pytest.mark.parametrize(
    ("query", "error", "rule", "pool"),
    [
        ("symbol=PF_XBTUSD&maxLeverage=2", {"code": 92, "message": "INSUFFICIENT_MARGIN"}, "crossAvailableBelowZero",
         "cross"),
        ("symbol=PF_XBTUSD&maxLeverage=51", {"error": "invalidArgument"}, "leverageCap", None),
        ("symbol=PF_XBTUSD&maxLeverage=1e2", {"error": "invalidArgument"}, "leverageFormat", None),
        ("symbol=PF_NOPE&maxLeverage=2", {"code": 87, "message": "CONTRACT_DOES_NOT_EXIST"}, "contractExists", None),
        ("symbol=PI_XBTUSD", {"code": 88, "message": "CONTRACT_NOT_MULTI_COLLATERAL"}, "multiCollateral", None),
        ("maxLeverage=2", {"error": "requiredArgumentMissing"}, "symbolRequired", None),
    ],
    ids=["92", "cap", "format", "87", "88", "missing"],
)  # fmt: skip
def test_a_refusal_shows_the_error_the_put_would_answer_and_the_rule_that_decided(
    server: ServerProcess, http: httpx.Client, query: str, error: dict[str, Any], rule: str, pool: str | None
) -> None:
    p = preview(http, query)
    assert (p["outcome"], p["error"], p["rule"], p["failedPool"]) == ("refused", error, rule, pool)
    put = call(http, "PUT", LEVERAGE, world.ALICE_FULL, query).json()
    assert put.get("errors", [{}])[0] == error or {"error": put.get("error")} == error


def test_a_would_cause_liquidation_preview_names_the_isolated_pool(server: ServerProcess) -> None:
    server.load(world.scenario(alice_usd="20000", marks={"PF_XBTUSD": "50000", "PF_ETHUSD": "3000"}))  # SPEC B1
    with httpx.Client(base_url=server.base, timeout=10) as client:
        p = preview(client, "symbol=PF_XBTUSD&maxLeverage=50")
    assert (p["outcome"], p["rule"], p["failedPool"]) == ("refused", "poolBelowMaintenance", "PF_XBTUSD")
    assert p["error"] == {"code": 41, "message": "WOULD_CAUSE_LIQUIDATION"}
    assert p["after"]["isolated"]["equity"] == -9000


def test_a_preview_is_signed_charged_2_and_obeys_nonce_rules(server: ServerProcess, http: httpx.Client) -> None:
    assert call(http, "GET", PREVIEW, None, "symbol=PF_XBTUSD").json()["error"] == "authenticationError"
    nonce = str(time.time_ns())
    assert call(http, "GET", PREVIEW, world.ALICE_FULL, "symbol=PF_XBTUSD", nonce=nonce).json()["result"] == "success"
    assert call(http, "GET", PREVIEW, world.ALICE_FULL, "symbol=PF_XBTUSD", nonce=nonce).json()["error"] == (
        "nonceDuplicate"
    )
    assert call(http, "PUT", PREVIEW, world.ALICE_FULL, "symbol=PF_XBTUSD").status_code == 405


def test_python_kraken_sdk_calls_the_preview_with_its_generic_signed_request(server: ServerProcess) -> None:
    from kraken.futures import Market

    market = Market(key=world.ALICE_READ[0], secret=world.ALICE_READ[1], url=server.base)
    answer = market.request(
        method="GET",
        uri="/derivatives/api/v3/leveragepreferences/preview",
        query_params={"symbol": "PF_XBTUSD", "maxLeverage": 10},
        auth=True,
    )
    assert answer["preview"]["outcome"] == "accepted"
    assert answer["preview"]["allocatedMargin"]["after"] == 6000
