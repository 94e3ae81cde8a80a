from __future__ import annotations

from decimal import Decimal as D

import pytest

from levpref.domain.schedule import MarginLevel, MarginSchedule
from tests.unit.test_worked_examples import XBT


@pytest.mark.parametrize(
    ("notional", "im", "mm"),
    [
        ("0", "0", "0"),
        ("60000", "1200", "600"),
        ("500000", "10000", "5000"),  # the first edge: 2 % of 500 000
        ("500001", "10000.04", "5000.02"),  # one dollar into the second tier, at 4 %
        ("1000000", "30000", "15000"),
        ("2000000", "70000", "35000"),
        ("5000000", "370000", "185000"),
        ("40000000", "12370000", "6185000"),
    ],
)
def test_schedule_margin_is_marginal_and_continuous_at_tier_edges(notional: str, im: str, mm: str) -> None:
    assert XBT.initial_margin(D(notional)) == D(im)
    assert XBT.maintenance_margin(D(notional)) == D(mm)


def test_margin_just_below_and_above_an_edge_differs_by_the_rates_only() -> None:
    edge = D(2000000)
    cent = D("0.01")
    assert XBT.initial_margin(edge + cent) - XBT.initial_margin(edge) == D("0.0010")
    assert XBT.initial_margin(edge) - XBT.initial_margin(edge - cent) == D("0.0004")


def test_the_cap_without_a_position_is_one_over_the_first_initial_rate() -> None:
    assert XBT.leverage_cap(D(0)) == D(50)
    assert XBT.allows_leverage(D(50), D(0))
    assert not XBT.allows_leverage(D("50.01"), D(0))


def test_the_cap_falls_as_notional_crosses_tiers() -> None:
    assert D("33.33") < XBT.leverage_cap(D(1000000)) < D("33.34")
    assert XBT.leverage_cap(D(500000)) == D(50)


@pytest.mark.parametrize(
    "levels",
    [
        [],
        [MarginLevel(D(1), D("0.02"), D("0.01"))],
        [MarginLevel(D(0), D("0"), D("0.01"))],
        [MarginLevel(D(0), D("0.02"), D("0.01")), MarginLevel(D(0), D("0.04"), D("0.02"))],
    ],
    ids=["empty", "not-from-zero", "zero-rate", "duplicate-bound"],
)
def test_malformed_schedules_are_refused(levels: list[MarginLevel]) -> None:
    with pytest.raises(ValueError, match="margin"):
        MarginSchedule.of(levels)
