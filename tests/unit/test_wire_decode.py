"""The strict decoder (SPEC §4), without a server: exact Decimals, typed refusals naming their field, cheap refusals."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from levpref.adapters.wire.admin import PositionBody, body
from levpref.adapters.wire.decode import loads_json, loads_toml
from levpref.adapters.wire.scenario import decode_scenario
from levpref.errors import InvalidInput
from levpref.service.scenario import check_scenario

WORLD_TOML = """
[collateral_currencies]
USD = { price = "1" }
BTC = { price = 60000.12345678901234, haircut = "0.02" }
[[accounts]]
id = "a"
collateral = { USD = 10000, BTC = "0.5" }
"""


def test_toml_and_json_decode_into_the_same_exact_decimals() -> None:
    json_text = (
        '{"collateral_currencies": {"USD": {"price": "1"}, "BTC": {"price": 60000.12345678901234, "haircut": "0.02"}},'
        ' "accounts": [{"id": "a", "collateral": {"USD": 10000, "BTC": "0.5"}}]}'
    )
    from_toml = decode_scenario(loads_toml(WORLD_TOML))
    from_json = decode_scenario(loads_json(json_text))
    assert from_toml == from_json
    assert from_json.currencies["BTC"] == (Decimal("60000.12345678901234"), Decimal("0.02"))
    assert type(from_json.accounts[0].collateral["USD"]) is Decimal


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        ('{"accounts": [{"id": "a", "active": "false"}]}', "accounts[0].active: expected a boolean"),
        ('{"accounts": [{"id": "a", "keys": [{"revoked": "no"}]}]}', "accounts[0].keys[0].revoked: expected a boolean"),
        ('{"accounts": [{"id": "a", "colateral": {}}]}', "accounts[0].colateral: unknown key"),
        ('{"accounts": [{"active": true}]}', "accounts[0].id: required"),
        ('{"marks": {"PF_X": "1", "PF_Y": "1e3"}}', "marks.PF_Y: expected a decimal number"),
        ('{"collateral_currencies": {"USD": {"price": "2"}}}', "collateral_currencies.USD.price: the price of USD"),
        ("{}", "body: expected at least one of"),
    ],
)
def test_a_refusal_names_the_field_at_fault(document: str, detail: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_scenario(decode_scenario(loads_json(document)))
    assert refused.value.detail.startswith(detail), refused.value.detail


@pytest.mark.parametrize("literal", ["1e-100000000", "9e999999", "1E+999999999"])
def test_giant_exponents_are_refused_without_being_computed(literal: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="size: expected a decimal number"):
        body(f'{{"size": {literal}, "entry_price": "1"}}'.encode(), PositionBody)
    assert time.perf_counter() - started < 0.5


def test_json_numbers_are_decimals_digit_for_digit() -> None:
    decoded = body(b'{"size": -0.100000000000000001, "entry_price": 60000.50}', PositionBody)
    assert str(decoded.size) == "-0.100000000000000001"
    assert str(decoded.entry_price) == "60000.50"
