"""SPEC §3.5 "Exactness" (revised 2026-12): exact figures, rounded once, and an exact leverage cap."""

from __future__ import annotations

from decimal import Decimal as D
from decimal import Inexact, localcontext

from levpref.adapters.jsonwire import money
from levpref.domain.exact import EXACT, divide
from levpref.domain.margin import CollateralBalance, MarginAccount, Position, flex_summary
from levpref.domain.schedule import MarginLevel, MarginSchedule

HALF = MarginSchedule.of([MarginLevel(D(0), D("0.5"), D("0.25"))])


def test_currency_available_on_a_rounding_tie_is_rounded_once_half_even() -> None:
    # USD 1631, one cross position of notional 3179.81058165 on a 0.5/0.25 tier:
    # avail = 1631 − 1589.905290825 = 41.094709175 exactly, a tie at 1e-8 → 41.09470918 (half-even: 7 is odd)
    position = Position("PF_X", D(1), D("3179.81058165"), D("3179.81058165"), D(1), HALF)
    summary = flex_summary(MarginAccount.of([CollateralBalance("USD", D(1631), D(1), D(0))], [position]))
    assert summary.available_margin == D("41.094709175")
    assert bytes(money(summary.available_margin)) == b"41.09470918"
    assert bytes(money(summary.currencies["USD"][3])) == b"41.09470918"


def test_currency_available_is_the_exact_share_rounded_half_even_and_clamped() -> None:
    assert divide(D(1), D(3)) == D("0.33333333")
    assert divide(D(2), D(3)) == D("0.66666667")
    assert divide(D("0.000000025"), D(1)) == D("0.00000002")  # tie → even
    assert divide(D("0.000000035"), D(1)) == D("0.00000004")
    assert divide(D(1), D(3), "ceiling") == D("0.33333334")
    broke = MarginAccount.of([CollateralBalance("USD", D(0), D(1), D(0))], [])
    assert flex_summary(broke).currencies["USD"][3] == 0


def test_the_leverage_cap_is_compared_exactly_even_with_a_rate_of_thirty_digits() -> None:
    # im = 0.0200000000000000000000000000001 (31 significant digits): the cap at N = 60 000 is just below 50
    rate = D("0.0200000000000000000000000000001")
    schedule = MarginSchedule.of([MarginLevel(D(0), rate, D("0.01"))])
    assert not schedule.allows_leverage(D(50), D(60000))
    assert not schedule.allows_leverage(D(50), D(0))
    assert schedule.allows_leverage(D("49.99"), D(60000))


def test_the_leverage_cap_is_compared_exactly_with_a_29_digit_mark() -> None:
    mark = D("60000.000000000000000000000001")  # 29 significant digits
    rate = D("0.02")
    schedule = MarginSchedule.of([MarginLevel(D(0), rate, D("0.01"))])
    assert schedule.allows_leverage(D(50), mark)  # L·IM = 50·0.02·N = N exactly


def test_totals_at_the_admin_bounds_lose_no_digit() -> None:
    # ≈ 2.8e15 USD of collateral in several currencies with 18-decimal quantities
    collateral = [
        CollateralBalance("USD", D("999999999999.999999999999999999"), D(1), D(0)),
        CollateralBalance("BTC", D("46666.123456789012345678"), D("60000.123456789012345678"), D("0.02")),
        CollateralBalance("ETH", D("999999.999999999999999999"), D("3000.000000000000000001"), D("0.1")),
    ]
    with localcontext(EXACT) as ctx:
        ctx.clear_flags()
        summary = flex_summary(MarginAccount.of(collateral, []))
        assert not ctx.flags[Inexact]
    with localcontext(EXACT):
        exact_sum = sum((c.quantity * c.price for c in collateral), D(0))
    assert summary.balance_value == exact_sum
    rounded_parts = sum(D(bytes(money(v)).decode()) for _, v, _, _ in summary.currencies.values())
    assert abs(D(bytes(money(summary.balance_value)).decode()) - rounded_parts) <= D("2e-8")  # ≤ one 1e-8 per part


def test_balance_value_of_large_prices_is_the_exact_sum_rounded_once() -> None:
    """At 28 digits this answered 10223378549412328.6314558 (seven decimals: the sum had been rounded at 28 digits)."""
    collateral = [
        CollateralBalance("BTC", D("3508.449152189832585642"), D("867592565762.330323279712219597"), D(0)),
        CollateralBalance("ETH", D("7551.434745443991144451"), D("950743056072.738100263380672405"), D(0)),
    ]
    summary = flex_summary(MarginAccount.of(collateral, []))
    assert bytes(money(summary.balance_value)) == b"10223378549412328.63145579"
