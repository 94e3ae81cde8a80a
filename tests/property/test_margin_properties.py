"""Properties of the margin decision (SPEC §3.4), over generated accounts."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from levpref.domain.margin import (
    CollateralBalance,
    MarginAccount,
    Outcome,
    Position,
    allocation_for,
    decide_leverage_change,
    is_liquidatable,
)
from tests.unit.test_worked_examples import ETH, XBT

SYMBOLS = ("PF_XBTUSD", "PF_ETHUSD", "PF_SOLUSD", "PF_XRPUSD")


def money(low: int, high: int, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False)


leverages = st.one_of(st.none(), money(1, 50, 2))


@st.composite
def positions(draw: st.DrawFn, symbol: str) -> Position:
    size = draw(money(1, 50_000, 3)) / 1000 * draw(st.sampled_from([1, -1]))
    entry = draw(money(1, 100_000, 2))
    mark = draw(money(1, 100_000, 2))
    schedule = XBT if symbol in ("PF_XBTUSD", "PF_SOLUSD") else ETH
    position = Position(symbol, size, entry, mark, Decimal(1), schedule)
    if draw(st.booleans()):
        position = Position(
            symbol, size, entry, mark, Decimal(1), schedule, allocation_for(position.notional, draw(money(1, 50, 2)))
        )
    return position


@st.composite
def accounts(draw: st.DrawFn) -> MarginAccount:
    collateral = [CollateralBalance("USD", draw(money(0, 1_000_000)), Decimal(1), Decimal(0))]
    if draw(st.booleans()):
        collateral.append(CollateralBalance("BTC", draw(money(0, 20, 4)), draw(money(1, 100_000)), Decimal("0.02")))
    held = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=len(SYMBOLS)))
    return MarginAccount.of(collateral, [draw(positions(symbol)) for symbol in held])


@settings(max_examples=400)
@given(accounts(), st.sampled_from(SYMBOLS), leverages)
def test_no_change_creates_or_destroys_equity(account: MarginAccount, symbol: str, leverage: Decimal | None) -> None:
    decision = decide_leverage_change(account, symbol, leverage)
    expected = account.collateral_value + account.unrealized_pnl
    assert account.total_equity() == expected
    assert decision.after.total_equity() == expected


@settings(max_examples=400)
@given(accounts(), st.sampled_from(SYMBOLS), leverages)
def test_an_accepted_change_leaves_every_pool_above_maintenance_and_cross_available_non_negative_or_raised(
    account: MarginAccount, symbol: str, leverage: Decimal | None
) -> None:
    decision = decide_leverage_change(account, symbol, leverage)
    if decision.outcome is Outcome.ACCEPTED and account.position(symbol) is not None:
        cross = decision.after.cross_pool()
        assert cross.available >= 0 or cross.available >= decision.available_before
        assert cross.equity >= cross.maintenance_margin
        assert all(pool.equity >= pool.maintenance_margin for pool in decision.after.isolated_pools())


@settings(max_examples=300)
@given(accounts(), st.sampled_from(SYMBOLS), leverages, st.randoms(use_true_random=False))
def test_the_decision_does_not_depend_on_the_order_of_positions(
    account: MarginAccount, symbol: str, leverage: Decimal | None, random: object
) -> None:
    shuffled = list(account.positions)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    other = MarginAccount(account.collateral, tuple(shuffled))
    first, second = decide_leverage_change(account, symbol, leverage), decide_leverage_change(other, symbol, leverage)
    assert (first.outcome, first.allocated_after, first.available_after) == (
        second.outcome,
        second.allocated_after,
        second.available_after,
    )


@settings(max_examples=300)
@given(accounts(), leverages)
def test_a_change_on_a_contract_without_a_position_never_fails_for_margin_reasons(
    account: MarginAccount, leverage: Decimal | None
) -> None:
    free = [s for s in SYMBOLS if account.position(s) is None]
    for symbol in free:
        decision = decide_leverage_change(account, symbol, leverage)
        assert decision.outcome is Outcome.ACCEPTED
        assert decision.after == account


@settings(max_examples=300)
@given(money(1, 10**9, 8), money(1, 50, 2))
def test_allocated_margin_is_rounded_up_to_a_hundred_millionth(notional: Decimal, leverage: Decimal) -> None:
    allocated = allocation_for(notional, leverage)
    assert allocated == allocated.quantize(Decimal("1e-8"))
    assert allocated * leverage >= notional
    assert (allocated - Decimal("1e-8")) * leverage < notional


@settings(max_examples=400)
@given(accounts(), st.sampled_from(SYMBOLS), leverages)
def test_the_one_pass_decision_matches_the_definition_of_spec_3_4(
    account: MarginAccount, symbol: str, leverage: Decimal | None
) -> None:
    decision = decide_leverage_change(account, symbol, leverage)
    if account.position(symbol) is None:
        return
    before, after = account.cross_pool(), decision.after.cross_pool()
    if after.available < before.available and after.available < 0:
        expected = Outcome.INSUFFICIENT_MARGIN
    elif is_liquidatable(decision.after):
        expected = Outcome.WOULD_CAUSE_LIQUIDATION
    else:
        expected = Outcome.ACCEPTED
    assert decision.outcome is expected
    assert (decision.available_before, decision.available_after) == (before.available, after.available)
