"""Loading instruments in Kraken's own schema, as a saved GET /instruments response has them (SPEC §1.5)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from levpref.adapters import jsonwire
from levpref.adapters.kraken_instruments import canonical_instrument, instrument_from_wire
from levpref.errors import InvalidInput

SAVED_RESPONSE = b"""{"result":"success","instruments":[
 {"symbol":"PF_XBTUSD","pair":"BTC:USD","base":"BTC","quote":"USD","type":"flexible_futures","tickSize":1,
  "contractSize":1,"tradeable":true,"impactMidSize":1,"maxPositionSize":1000000,
  "openingDate":"2022-01-01T00:00:00.000Z",
  "marginLevels":[{"numNonContractUnits":0E-20,"initialMargin":0.01,"maintenanceMargin":0.005},
                  {"numNonContractUnits":1000000.00000000000000000000,"initialMargin":0.02,"maintenanceMargin":0.01}],
  "fundingRateCoefficient":8,"maxRelativeFundingRate":0.001,"contractValueTradePrecision":4,
  "feeScheduleUid":"5b755fea-c5b0-4307-a66e-b392cd5bd931","postOnly":false,
  "retailMarginLevels":[{"numNonContractUnits":0.0,"initialMargin":0.5,"maintenanceMargin":0.25}],
  "marginSchedules":{"default":{"retail":[],"professional":[]}},
  "category":"Layer 1","tags":[],"tradfi":false,"mtf":false,"isExpired":false},
 {"symbol":"PI_XBTUSD","pair":"XBT:USD","base":"XBT","quote":"USD","type":"futures_inverse","underlying":"rr_xbtusd",
  "tickSize":0.5,"contractSize":1,"tradeable":true,"impactMidSize":1,"maxPositionSize":1000000,
  "openingDate":"2018-08-31T00:00:00.000Z",
  "marginLevels":[{"contracts":0,"initialMargin":0.02,"maintenanceMargin":0.01}],
  "fundingRateCoefficient":8,"maxRelativeFundingRate":0.001,"isin":"GB00J62YGL67","contractValueTradePrecision":0,
  "postOnly":false,"retailMarginLevels":[],"category":"","tags":[],"tradfi":false,"makerProtectionMillis":20},
 {"symbol":"in_xbtusd","type":"spot index","tradeable":false,"tradfi":false}
]}"""


def test_a_saved_kraken_response_loads_with_every_field_kept_and_numbers_exact() -> None:
    listed = jsonwire.loads(SAVED_RESPONSE)["instruments"]
    canonical = [canonical_instrument(raw) for raw in listed]
    xbt = instrument_from_wire(canonical[0])
    assert xbt.is_multi_collateral
    assert xbt.schedule is not None
    assert xbt.schedule.leverage_cap(Decimal(0)) == 100
    assert xbt.schedule.initial_margin(Decimal(2000000)) == Decimal(30000)
    assert canonical[0]["feeScheduleUid"] == "5b755fea-c5b0-4307-a66e-b392cd5bd931"
    assert canonical[0]["isExpired"] is False
    assert b'"numNonContractUnits":1000000.00000000000000000000' in jsonwire.dumps(canonical[0])
    inverse = instrument_from_wire(canonical[1])
    assert not inverse.is_multi_collateral
    assert canonical[1]["makerProtectionMillis"] == 20
    assert instrument_from_wire(canonical[2]).type == "spot index"


def test_snake_case_scenario_instruments_become_kraken_camel_case() -> None:
    inst = canonical_instrument(
        {
            "symbol": "PF_ETHUSD",
            "type": "flexible_futures",
            "contract_size": "0.1",
            "margin_levels": [{"num_non_contract_units": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"}],
        }
    )
    assert inst["contractSize"] == Decimal("0.1")
    assert inst["marginLevels"] == [
        {"numNonContractUnits": Decimal(0), "initialMargin": Decimal("0.02"), "maintenanceMargin": Decimal("0.01")}
    ]
    assert inst["retailMarginLevels"] == inst["marginLevels"]
    assert inst["tradeable"] is True
    assert (inst["base"], inst["quote"]) == ("ETH", "USD")


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "flexible_futures"},
        {"symbol": "PF_X", "type": "flexible_futures", "marginLevels": []},
        {
            "symbol": "PF_X",
            "type": "flexible_futures",
            "marginLevels": [{"contracts": 0, "initialMargin": 0.02, "maintenanceMargin": 0.01}],
        },
        {"symbol": "PF_X", "type": "flexible_futures", "contractSize": "NaN"},
        {"symbol": "PF_X"},
    ],
    ids=["no-symbol", "flex-without-schedule", "flex-with-contract-bounds", "nan", "no-type"],
)
def test_instruments_that_cannot_be_margined_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        canonical_instrument(raw)
