"""Properties of the margin decision (SPEC §3.4), over generated accounts."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from levpref.adapters.jsonwire import money as wire_money
from levpref.domain.liquidation import liquidation_price
from levpref.domain.margin import (
    CollateralBalance,
    MarginAccount,
    Outcome,
    Position,
    PositionSums,
    allocation_for,
    decide_leverage_change,
    flex_summary,
)
from levpref.domain.preferences import CROSS, Isolated, MarginMode
from tests.unit.test_worked_examples import ETH, XBT

SYMBOLS = ("PF_XBTUSD", "PF_ETHUSD", "PF_SOLUSD", "PF_XRPUSD")


def money(low: int, high: int, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False)


modes: st.SearchStrategy[MarginMode] = st.one_of(st.just(CROSS), money(1, 50, 2).map(Isolated))


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
@given(accounts(), st.sampled_from(SYMBOLS), modes)
def test_no_change_creates_or_destroys_equity(account: MarginAccount, symbol: str, mode: MarginMode) -> None:
    decision = decide_leverage_change(account, symbol, mode)
    expected = account.collateral_value + account.unrealized_pnl
    assert account.total_equity() == expected
    assert decision.after.total_equity() == expected


def _slack(equity: Decimal, maintenance: Decimal) -> Decimal:
    return equity - maintenance


def _reference_outcome(account: MarginAccount, after: MarginAccount, symbol: str) -> Outcome:
    """SPEC §3.4 (revised 2026-12) read literally, over every pool of the account before and after."""
    before_cross, after_cross = account.cross_pool(), after.cross_pool()
    if after_cross.available < before_cross.available and after_cross.available < 0:
        return Outcome.INSUFFICIENT_MARGIN
    pools_before = {"cross": before_cross} | {p.symbol: p for p in account.isolated_pools()}
    pools_after = {"cross": after_cross} | {p.symbol: p for p in after.isolated_pools()}
    for name, pool in pools_after.items():
        old = pools_before.get(name)
        worse = old is None or _slack(pool.equity, pool.maintenance_margin) < _slack(old.equity, old.maintenance_margin)
        if worse and pool.equity < pool.maintenance_margin:
            return Outcome.WOULD_CAUSE_LIQUIDATION
    return Outcome.ACCEPTED


@settings(max_examples=400)
@given(accounts(), st.sampled_from(SYMBOLS), modes)
def test_an_accepted_change_leaves_no_pool_it_worsened_below_maintenance_and_cross_available_non_negative_or_raised(
    account: MarginAccount, symbol: str, mode: MarginMode
) -> None:
    decision = decide_leverage_change(account, symbol, mode)
    if decision.outcome is Outcome.ACCEPTED and account.position(symbol) is not None:
        cross = decision.after.cross_pool()
        assert cross.available >= 0 or cross.available >= decision.available_before
        if _slack(cross.equity, cross.maintenance_margin) < _slack(
            decision.cross_before.equity, decision.cross_before.maintenance_margin
        ):
            assert cross.equity >= cross.maintenance_margin
        pool = decision.isolated_after
        if pool is not None and (
            decision.isolated_before is None or pool.allocated_margin < decision.isolated_before.allocated_margin
        ):
            assert pool.equity >= pool.maintenance_margin


@settings(max_examples=300)
@given(accounts(), st.sampled_from(SYMBOLS), modes, st.randoms(use_true_random=False))
def test_the_decision_does_not_depend_on_the_order_of_positions(
    account: MarginAccount, symbol: str, mode: MarginMode, random: object
) -> None:
    shuffled = list(account.positions)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    other = MarginAccount(account.collateral, tuple(shuffled))
    first, second = decide_leverage_change(account, symbol, mode), decide_leverage_change(other, symbol, mode)
    assert (first.outcome, first.allocated_after, first.available_after) == (
        second.outcome,
        second.allocated_after,
        second.available_after,
    )


@settings(max_examples=300)
@given(accounts(), modes)
def test_a_change_on_a_contract_without_a_position_never_fails_for_margin_reasons(
    account: MarginAccount, mode: MarginMode
) -> None:
    free = [s for s in SYMBOLS if account.position(s) is None]
    for symbol in free:
        decision = decide_leverage_change(account, symbol, mode)
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
@given(accounts(), st.sampled_from(SYMBOLS), modes)
def test_the_one_pass_decision_matches_the_definition_of_spec_3_4(
    account: MarginAccount, symbol: str, mode: MarginMode
) -> None:
    decision = decide_leverage_change(account, symbol, mode)
    if account.position(symbol) is None:
        return
    assert decision.outcome is _reference_outcome(account, decision.after, symbol)
    before, after = account.cross_pool(), decision.after.cross_pool()
    assert (decision.available_before, decision.available_after) == (before.available, after.available)


@st.composite
def untouched_pools(draw: st.DrawFn, taken: set[str]) -> Position:
    """An isolated position in a contract the change does not touch, often far under water."""
    symbol = draw(st.sampled_from([s for s in ("PF_ADAUSD", "PF_DOTUSD") if s not in taken]))
    size = draw(money(1, 50_000, 3)) / 1000 * draw(st.sampled_from([1, -1]))
    entry, mark = draw(money(1, 100_000, 2)), draw(money(1, 100_000, 2))
    return Position(symbol, size, entry, mark, Decimal(1), ETH, draw(money(0, 100_000, 2)))


@settings(max_examples=300)
@given(accounts(), st.sampled_from(SYMBOLS), modes, st.data())
def test_a_pool_the_change_does_not_touch_never_changes_its_outcome(
    account: MarginAccount, symbol: str, mode: MarginMode, data: st.DataObject
) -> None:
    """Add an isolated pool elsewhere, funded by as much USD as it holds, so the cross pool is the same."""
    extra = data.draw(untouched_pools({p.symbol for p in account.positions}))
    assert extra.allocated_margin is not None
    funded = MarginAccount(
        (*account.collateral, CollateralBalance("USDT", extra.allocated_margin, Decimal(1), Decimal(0))),
        (*account.positions, extra),
    )
    assert funded.cross_pool() == account.cross_pool()
    first, second = decide_leverage_change(account, symbol, mode), decide_leverage_change(funded, symbol, mode)
    assert (first.outcome, first.rule, first.failed_pool, first.allocated_after, first.cross_after) == (
        second.outcome,
        second.rule,
        second.failed_pool,
        second.allocated_after,
        second.cross_after,
    )


def _exact(value: Decimal) -> Fraction:
    return Fraction(value)


def _rounded(value: Fraction) -> Decimal:
    """Half-even to 1e-8, computed from the exact rational (independent of the engine's Decimal context)."""
    return Decimal(round(value * 10**8)) / 10**8


@settings(max_examples=300)
@given(accounts())
def test_every_accounts_figure_is_the_exact_value_rounded_half_even_once(account: MarginAccount) -> None:
    summary = flex_summary(account)
    cv = sum((_exact(c.quantity) * _exact(c.price) * (1 - _exact(c.haircut)) for c in account.collateral), Fraction(0))
    bv = sum((_exact(c.quantity) * _exact(c.price) for c in account.collateral), Fraction(0))
    upnl = sum(
        (_exact(p.size) * _exact(p.contract_size) * (_exact(p.mark_price) - _exact(p.entry_price)))
        for p in account.positions
    )
    cross_pnl = sum(
        (_exact(p.unrealized_pnl) for p in account.positions if not p.is_isolated),
        Fraction(0),
    )
    im = sum((_exact(p.initial_margin) for p in account.positions if not p.is_isolated), Fraction(0))
    allocated = sum((_exact(p.allocated_margin or Decimal(0)) for p in account.positions), Fraction(0))
    avail = cv + cross_pnl - allocated - im
    assert bytes(wire_money(summary.balance_value)).decode() == format(_rounded(bv).normalize(), "f")
    assert bytes(wire_money(summary.collateral_value)).decode() == format(_rounded(cv).normalize(), "f")
    assert bytes(wire_money(summary.unrealized_pnl)).decode() == format(_rounded(Fraction(upnl)).normalize(), "f")
    assert bytes(wire_money(summary.available_margin)).decode() == format(_rounded(avail).normalize(), "f")
    for c in account.collateral:
        q = _exact(c.quantity)
        share = Fraction(0) if cv <= 0 or avail <= 0 else min(q, round(q * avail / cv * 10**8) / Fraction(10**8))
        assert _exact(summary.currencies[c.currency][3]) == share


def _summarised(account: MarginAccount, symbol: str) -> MarginAccount:
    """The account as a store that keeps sums gives it: the one position asked for, and the sums of the rest."""
    listed = [p for p in account.positions if p.symbol == symbol]
    rest = [p for p in account.positions if p.symbol != symbol]
    return MarginAccount.of(account.collateral, listed, PositionSums.of(rest))


@settings(max_examples=400)
@given(accounts(), st.sampled_from(SYMBOLS), modes)
def test_an_account_given_as_one_position_and_the_sums_of_the_others_decides_and_summarises_alike(
    account: MarginAccount, symbol: str, mode: MarginMode
) -> None:
    summarised = _summarised(account, symbol)
    full, short = decide_leverage_change(account, symbol, mode), decide_leverage_change(summarised, symbol, mode)
    assert (short.outcome, short.rule, short.failed_pool) == (full.outcome, full.rule, full.failed_pool)
    assert (short.cross_before, short.cross_after) == (full.cross_before, full.cross_after)
    assert (short.isolated_before, short.isolated_after) == (full.isolated_before, full.isolated_after)
    assert flex_summary(summarised) == flex_summary(account)
    assert flex_summary(short.after) == flex_summary(full.after)
    assert liquidation_price(summarised, symbol) == liquidation_price(account, symbol)
    assert liquidation_price(short.after, symbol) == liquidation_price(full.after, symbol)
    assert summarised.total_equity() == account.total_equity()
    assert summarised.sums() == account.sums()
