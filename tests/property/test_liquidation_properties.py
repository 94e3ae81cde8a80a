"""Properties of liquidation prices (SPEC §6.1), over generated schedules and accounts.

The oracle is the margin model itself (``tests.unit.test_liquidation.surplus``: the pool's equity minus its
maintenance margin with the mark moved), computed exactly; the solver never sees it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from levpref.domain.liquidation import PRICE_QUANTUM, liquidation_price
from levpref.domain.margin import CollateralBalance, MarginAccount, Position, allocation_for
from levpref.domain.schedule import ZERO, MarginLevel, MarginSchedule
from tests.unit.test_liquidation import surplus

SYMBOLS = ("PF_XBTUSD", "PF_ETHUSD", "PF_SOLUSD", "PF_XRPUSD")


def money(low: int | str, high: int | str, places: int = 2) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=places, allow_nan=False, allow_infinity=False)


@st.composite
def schedules(draw: st.DrawFn) -> MarginSchedule:
    bounds = draw(st.lists(money(1, 20_000_000, 0), unique=True, max_size=4))
    # now and then a 100 % maintenance tier, on which a long's surplus is flat
    rates = st.integers(0, 9).flatmap(
        lambda n: st.just(Decimal(1)) if n == 0 else money("0.001", "0.5" if n == 1 else "0.05", 3)
    )
    return MarginSchedule.of(MarginLevel(bound, Decimal(1), draw(rates)) for bound in [ZERO, *bounds])


@st.composite
def positions(draw: st.DrawFn, symbol: str) -> Position:
    size = draw(money(1, 50_000, 3)) / 1000 * draw(st.sampled_from([1, -1]))
    contract_size = draw(st.sampled_from([Decimal(1), Decimal("0.001"), Decimal("0.5"), Decimal(10)]))
    entry = draw(money(1, 100_000))
    mark = (entry * draw(money("0.8", "1.2", 3))).quantize(Decimal("0.01")) or entry  # a mark on the 1e-8 grid
    held = Position(symbol, size, entry, mark, contract_size, draw(schedules()))
    allocated = draw(
        st.one_of(
            st.none(),
            money(1, 100).map(lambda leverage: allocation_for(held.notional, leverage)),
            money(0, 10_000),
        )
    )
    return replace(held, allocated_margin=allocated)


@st.composite
def accounts(draw: st.DrawFn) -> tuple[MarginAccount, str]:
    collateral = [CollateralBalance("USD", draw(money(0, 100_000)), Decimal(1), Decimal(0))]
    if draw(st.booleans()):
        collateral.append(CollateralBalance("BTC", draw(money(0, 2, 4)), draw(money(1, 100_000)), Decimal("0.02")))
    held = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, min_size=1, max_size=len(SYMBOLS)))
    account = MarginAccount.of(collateral, [draw(positions(symbol)) for symbol in held])
    return account, draw(st.sampled_from(held))


def exposure_and_steepest_rate(account: MarginAccount, symbol: str) -> tuple[Decimal, Decimal]:
    held = account.position(symbol)
    assert held is not None
    return held.size * held.contract_size, max(level.maintenance_rate for level in held.schedule.levels)


@settings(max_examples=200)
@given(accounts())
def test_the_price_is_the_last_grid_price_that_meets_maintenance(case: tuple[MarginAccount, str]) -> None:
    account, symbol = case
    price = liquidation_price(account, symbol)
    if price is None:
        return
    exposure, rate = exposure_and_steepest_rate(account, symbol)
    assert price == price.quantize(PRICE_QUANTUM)
    toward_liquidation = -PRICE_QUANTUM if exposure > 0 else PRICE_QUANTUM
    if price > 0:
        # |g(r) − g(p*)| ≤ max slope · |r − p*| and every slope is at most n·(1 + mm) in size: ~0 on that scale
        assert ZERO <= surplus(account, symbol, price) <= abs(exposure) * (1 + rate) * PRICE_QUANTUM
    if price + toward_liquidation > 0:
        assert surplus(account, symbol, price + toward_liquidation) < 0


@settings(max_examples=200)
@given(accounts())
def test_one_percent_toward_safety_meets_maintenance_and_one_percent_the_other_way_does_not(
    case: tuple[MarginAccount, str],
) -> None:
    account, symbol = case
    price = liquidation_price(account, symbol)
    if price is None or price < Decimal("1e-5"):  # 1 % of a smaller price is under one grid step
        return
    exposure, _ = exposure_and_steepest_rate(account, symbol)
    up, down = price * Decimal("1.01"), price * Decimal("0.99")
    safe, unsafe = (up, down) if exposure > 0 else (down, up)
    assert surplus(account, symbol, safe) >= 0
    assert surplus(account, symbol, unsafe) < 0


@settings(max_examples=200)
@given(accounts())
def test_the_pool_is_below_maintenance_at_its_mark_exactly_when_the_mark_is_past_the_price(
    case: tuple[MarginAccount, str],
) -> None:
    account, symbol = case
    held = account.position(symbol)
    assert held is not None
    price = liquidation_price(account, symbol)
    below = surplus(account, symbol, held.mark_price) < 0
    if price is None:
        # no boundary: the pool is on the same side of maintenance at every mark
        probes = [PRICE_QUANTUM, held.mark_price / 100, held.entry_price, held.mark_price * 100, Decimal(10**12)]
        assert {surplus(account, symbol, probe) < 0 for probe in probes} == {below}
    elif held.size > 0:
        assert below == (held.mark_price < price)  # marks have 2 decimals: they lie on the 1e-8 grid
    else:
        assert below == (held.mark_price > price)


@settings(max_examples=100)
@given(accounts(), money(1, 100_000))
def test_the_price_does_not_depend_on_the_positions_own_mark(case: tuple[MarginAccount, str], mark: Decimal) -> None:
    account, symbol = case
    moved = MarginAccount(
        account.collateral,
        tuple(replace(p, mark_price=mark) if p.symbol == symbol else p for p in account.positions),
    )
    assert liquidation_price(moved, symbol) == liquidation_price(account, symbol)
