"""SPEC §3.4 worked examples, with their exact numbers (collateral USD, haircut 0, PF_XBTUSD unless noted)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from levpref.domain.margin import (
    CollateralBalance,
    MarginAccount,
    Outcome,
    Position,
    decide_leverage_change,
)
from levpref.domain.preferences import CROSS, Isolated, parse_max_leverage
from levpref.domain.schedule import MarginLevel, MarginSchedule

XBT = MarginSchedule.of(
    MarginLevel(D(lo), D(im), D(mm))
    for lo, im, mm in [
        ("0", "0.02", "0.01"),
        ("500000", "0.04", "0.02"),
        ("2000000", "0.10", "0.05"),
        ("5000000", "0.20", "0.10"),
        ("10000000", "0.30", "0.15"),
        ("30000000", "0.50", "0.25"),
    ]
)
ETH = MarginSchedule(XBT.levels[:3])


def usd(amount: str) -> tuple[CollateralBalance, ...]:
    return (CollateralBalance("USD", D(amount), D(1), D(0)),)


def xbt(size: str, entry: str, mark: str, allocated: str | None = None) -> Position:
    return Position("PF_XBTUSD", D(size), D(entry), D(mark), D(1), XBT, None if allocated is None else D(allocated))


def eth(size: str, entry: str, mark: str) -> Position:
    return Position("PF_ETHUSD", D(size), D(entry), D(mark), D(1), ETH)


A = MarginAccount(usd("10000"), (xbt("1", "60000", "60000"),))
B = MarginAccount(usd("20000"), (xbt("1", "60000", "50000"),))
D_STATE = MarginAccount(usd("20000"), (xbt("1", "60000", "58500", allocated="12000"),))
E = MarginAccount(usd("5000"), (xbt("0.1", "60000", "61000"), eth("-2", "3000", "3100")))


def test_a1_isolating_at_10_allocates_6000_and_cross_available_falls_from_8800_to_4000() -> None:
    decision = decide_leverage_change(A, "PF_XBTUSD", Isolated(D(10)))
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after == D(6000)
    assert (decision.available_before, decision.available_after) == (D(8800), D(4000))


def test_a2_isolating_at_2_after_a1_is_insufficient_margin_with_cross_available_minus_20000() -> None:
    after_a1 = A.with_allocation("PF_XBTUSD", D(6000))
    decision = decide_leverage_change(after_a1, "PF_XBTUSD", Isolated(D(2)))
    assert decision.outcome is Outcome.INSUFFICIENT_MARGIN
    assert decision.allocated_after == D(30000)
    assert decision.available_after == D(-20000)


def test_a3_leverage_51_exceeds_the_cap_of_50() -> None:
    position = A.positions[0]
    assert XBT.leverage_cap(position.notional) == D(50)
    assert XBT.allows_leverage(D(50), position.notional)
    assert not XBT.allows_leverage(D(51), position.notional)


def test_a4_going_back_to_cross_after_a1_restores_available_8800() -> None:
    after_a1 = A.with_allocation("PF_XBTUSD", D(6000))
    decision = decide_leverage_change(after_a1, "PF_XBTUSD", CROSS)
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after is None
    assert decision.available_after == D(8800)


@pytest.mark.parametrize("leverage", ["50", "5"])
def test_b1_b2_isolating_a_losing_position_too_thinly_would_cause_liquidation(leverage: str) -> None:
    decision = decide_leverage_change(B, "PF_XBTUSD", Isolated(D(leverage)))
    assert decision.outcome is Outcome.WOULD_CAUSE_LIQUIDATION
    pool = decision.after.isolated_pools()[0]
    assert pool.equity == {"50": D(-9000), "5": D(0)}[leverage]
    assert pool.maintenance_margin == D(500)


def test_b3_isolating_at_4_allocates_12500_with_isolated_equity_2500() -> None:
    decision = decide_leverage_change(B, "PF_XBTUSD", Isolated(D(4)))
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after == D(12500)
    assert decision.after.isolated_pools()[0].equity == D(2500)
    assert (decision.available_before, decision.available_after) == (D(9000), D(7500))


def test_c1_at_one_million_notional_33_33_is_accepted_and_33_34_refused() -> None:
    account = MarginAccount(usd("100000"), (xbt("20", "50000", "50000"),))
    notional = account.positions[0].notional
    assert notional == D(1000000)
    assert XBT.initial_margin(notional) == D(30000)
    assert XBT.allows_leverage(parse_max_leverage("33.33"), notional)
    assert not XBT.allows_leverage(parse_max_leverage("33.34"), notional)
    decision = decide_leverage_change(account, "PF_XBTUSD", Isolated(D("33.33")))
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after == D("30003.00030004")  # 1 000 000 / 33.33 rounded up to 1e-8


def test_d1_raising_isolated_leverage_to_20_releases_margin_to_2925() -> None:
    decision = decide_leverage_change(D_STATE, "PF_XBTUSD", Isolated(D(20)))
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after == D(2925)
    pool = decision.after.isolated_pools()[0]
    assert (pool.equity, pool.maintenance_margin) == (D(1425), D(585))


def test_d2_raising_isolated_leverage_to_40_would_cause_liquidation_at_equity_minus_37_5() -> None:
    decision = decide_leverage_change(D_STATE, "PF_XBTUSD", Isolated(D(40)))
    assert decision.outcome is Outcome.WOULD_CAUSE_LIQUIDATION
    assert decision.after.isolated_pools()[0].equity == D("-37.5")


def test_e1_isolating_the_eth_short_at_10_allocates_620_and_cross_available_falls_from_4654_to_4358() -> None:
    decision = decide_leverage_change(E, "PF_ETHUSD", Isolated(D(10)))
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after == D(620)
    assert (decision.available_before, decision.available_after) == (D(4654), D(4358))


def test_e2_isolating_the_eth_short_at_1_is_insufficient_margin() -> None:
    assert decide_leverage_change(E, "PF_ETHUSD", Isolated(D(1))).outcome is Outcome.INSUFFICIENT_MARGIN


# --- rule 2 is about the pools the change makes worse off (SPEC §3.4, revised 2026-12) -------------------------


def eth_isolated(size: str, entry: str, mark: str, allocated: str) -> Position:
    return Position("PF_ETHUSD", D(size), D(entry), D(mark), D(1), ETH, D(allocated))


def test_an_under_water_isolated_eth_position_does_not_block_isolating_xbt() -> None:
    # ETH: long 10 @ 3 000, mark 2 500, A = 600 → isolated equity 600 − 5 000 = −4 400 < MM 250: under water
    account = MarginAccount(
        usd("50000"), (xbt("1", "60000", "60000"), eth_isolated("10", "3000", "2500", allocated="600"))
    )
    assert account.isolated_pools()[0].equity < account.isolated_pools()[0].maintenance_margin
    decision = decide_leverage_change(account, "PF_XBTUSD", Isolated(D(10)))
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after == D(6000)


def test_lowering_a_sinking_isolated_position_from_40_to_20_is_accepted_when_the_cross_pool_can_pay() -> None:
    # long 1 @ 60 000 isolated at 40 (A = 1 500), mark 57 500: equity 1 500 − 2 500 = −1 000 < MM 575
    account = MarginAccount(usd("20000"), (xbt("1", "60000", "57500", allocated="1500"),))
    decision = decide_leverage_change(account, "PF_XBTUSD", Isolated(D(20)))
    assert decision.outcome is Outcome.ACCEPTED
    assert decision.allocated_after == D(2875)
    assert decision.isolated_after is not None
    assert (decision.isolated_after.equity, decision.isolated_after.maintenance_margin) == (D(375), D(575))
    assert decision.margin_moved == D(1375)


def test_lowering_a_sinking_isolated_position_is_still_insufficient_margin_when_the_cross_pool_cannot_pay() -> None:
    account = MarginAccount(usd("2000"), (xbt("1", "60000", "57500", allocated="1500"),))
    decision = decide_leverage_change(account, "PF_XBTUSD", Isolated(D(20)))  # cross available 500 → −875
    assert decision.outcome is Outcome.INSUFFICIENT_MARGIN
    assert decision.failed_pool == "cross"


def test_raising_the_leverage_of_a_sinking_isolated_position_would_cause_liquidation() -> None:
    account = MarginAccount(usd("20000"), (xbt("1", "60000", "57500", allocated="1500"),))
    decision = decide_leverage_change(account, "PF_XBTUSD", Isolated(D(45)))
    assert decision.outcome is Outcome.WOULD_CAUSE_LIQUIDATION
    assert decision.failed_pool == "PF_XBTUSD"


def test_moving_a_sinking_isolated_position_to_cross_is_refused_when_it_drags_the_cross_pool_under() -> None:
    # isolated equity −1 000; cross equity 600 − 1 500 = −900 + … : the cross pool would end at −400 < MM 575
    account = MarginAccount(usd("600"), (xbt("1", "60000", "57500", allocated="1500"),))
    decision = decide_leverage_change(account, "PF_XBTUSD", CROSS)
    assert decision.rule.value in ("crossAvailableBelowZero", "poolBelowMaintenance")
    assert not decision.accepted


def test_a_refusal_names_its_rule_and_pool() -> None:
    decision = decide_leverage_change(B, "PF_XBTUSD", Isolated(D(50)))
    assert (decision.rule.value, decision.failed_pool) == ("poolBelowMaintenance", "PF_XBTUSD")
    decision = decide_leverage_change(E, "PF_ETHUSD", Isolated(D(1)))
    assert (decision.rule.value, decision.failed_pool) == ("crossAvailableBelowZero", "cross")
    decision = decide_leverage_change(A, "PF_XBTUSD", Isolated(D(10)))
    assert (decision.rule.value, decision.failed_pool) == ("marginSufficient", None)
