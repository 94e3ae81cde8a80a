"""Liquidation prices (SPEC §6.1), hand-computed; PF_XBTUSD's tiers unless noted, collateral USD, haircut 0."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D
from decimal import localcontext

import pytest

from levpref.domain.liquidation import PRICE_QUANTUM, liquidation_price
from levpref.domain.margin import CollateralBalance, MarginAccount, Position
from levpref.domain.schedule import MarginLevel, MarginSchedule
from tests.unit.test_worked_examples import ETH, XBT


def usd(amount: str) -> tuple[CollateralBalance, ...]:
    return (CollateralBalance("USD", D(amount), D(1), D(0)),)


def position(
    symbol: str,
    size: str,
    entry: str,
    mark: str,
    allocated: str | None = None,
    *,
    contract_size: str = "1",
    schedule: MarginSchedule = XBT,
) -> Position:
    return Position(
        symbol, D(size), D(entry), D(mark), D(contract_size), schedule, None if allocated is None else D(allocated)
    )


def surplus(account: MarginAccount, symbol: str, mark: D) -> D:
    """Equity minus maintenance of the pool holding ``symbol``'s position at that mark, by the margin model."""
    with localcontext() as ctx:
        ctx.prec = 150
        moved = MarginAccount(
            account.collateral,
            tuple(replace(p, mark_price=mark) if p.symbol == symbol else p for p in account.positions),
        )
        held = moved.position(symbol)
        assert held is not None
        if held.allocated_margin is None:
            cross = moved.cross_pool()
            return cross.equity - cross.maintenance_margin
        pool = next(pool for pool in moved.isolated_pools() if pool.symbol == symbol)
        return pool.equity - pool.maintenance_margin


def assert_last_safe_grid_price(account: MarginAccount, symbol: str, price: D) -> None:
    """At ``price`` the pool meets maintenance; one 1e-8 step toward liquidation it does not."""
    held = account.position(symbol)
    assert held is not None
    assert price == price.quantize(PRICE_QUANTUM)
    assert surplus(account, symbol, price) >= 0
    step = -PRICE_QUANTUM if held.size > 0 else PRICE_QUANTUM
    assert surplus(account, symbol, price + step) < 0


def test_isolated_long_is_liquidated_where_allocated_margin_plus_pnl_meets_one_percent_of_notional() -> None:
    # 6000 + (p − 60000) = 0.01·p  →  p = 54000 / 0.99 = 54545.4545…, rounded up
    account = MarginAccount(usd("0"), (position("PF_XBTUSD", "1", "60000", "60000", "6000"),))
    price = liquidation_price(account, "PF_XBTUSD")
    assert price == D("54545.45454546")
    assert_last_safe_grid_price(account, "PF_XBTUSD", price)


def test_isolated_short_is_liquidated_above_the_entry_and_rounded_down() -> None:
    # 6000 − (p − 60000) = 0.01·p  →  p = 66000 / 1.01 = 65346.534653465…
    account = MarginAccount(usd("0"), (position("PF_XBTUSD", "-1", "60000", "60000", "6000"),))
    price = liquidation_price(account, "PF_XBTUSD")
    assert price == D("65346.53465346")
    assert_last_safe_grid_price(account, "PF_XBTUSD", price)


def test_cross_long_counts_the_other_cross_positions_pnl_and_maintenance() -> None:
    # worked example E: B = 5000 − 200 = 4800, F = MM_eth(6200) = 62
    # 4800 + 0.1·(p − 60000) = 62 + 0.001·p  →  p = 1262 / 0.099 = 12747.4747…
    account = MarginAccount(
        usd("5000"),
        (position("PF_XBTUSD", "0.1", "60000", "61000"), position("PF_ETHUSD", "-2", "3000", "3100", schedule=ETH)),
    )
    price = liquidation_price(account, "PF_XBTUSD")
    assert price == D("12747.47474748")
    assert_last_safe_grid_price(account, "PF_XBTUSD", price)


def test_cross_short_sees_the_cross_pool_at_the_other_marks() -> None:
    # B = 5000 + 0.1·1000 = 5100, F = MM_xbt(6100) = 61
    # 5100 − 2·(p − 3000) = 61 + 0.02·p  →  p = 11039 / 2.02 = 5464.8514851…
    account = MarginAccount(
        usd("5000"),
        (position("PF_XBTUSD", "0.1", "60000", "61000"), position("PF_ETHUSD", "-2", "3000", "3100", schedule=ETH)),
    )
    price = liquidation_price(account, "PF_ETHUSD")
    assert price == D("5464.85148514")
    assert_last_safe_grid_price(account, "PF_ETHUSD", price)


def test_isolated_allocations_elsewhere_leave_the_cross_pool_and_do_not_count_against_it_otherwise() -> None:
    # cross: B = 10000 − 300 = 9700  →  9700 + (p − 60000) = 0.01·p  →  p = 50300 / 0.99
    # isolated ETH short: 300 − (p − 3000) = 0.01·p  →  p = 3300 / 1.01
    account = MarginAccount(
        usd("10000"),
        (
            position("PF_XBTUSD", "1", "60000", "60000"),
            position("PF_ETHUSD", "-1", "3000", "3000", "300", schedule=ETH),
        ),
    )
    assert liquidation_price(account, "PF_XBTUSD") == D("50808.08080809")
    assert liquidation_price(account, "PF_ETHUSD") == D("3267.32673267")


@pytest.mark.parametrize(
    ("size", "allocated", "expected"),
    [
        # tier 1 (500k–2M): MM(20p) = 5000 + 0.02·(20p − 500000); 100000 + 20·(p − 50000) = 0.4p − 5000
        ("20", "100000", "45663.26530613"),  # p = 895000 / 19.6, N = 913 265
        ("-20", "100000", "54166.66666666"),  # 1100000 − 20p = 0.4p − 5000, p = 1105000 / 20.4
        # tier 2 (2M–5M): the tier-1 root would be at N > 2M; 250000 + 50·(p − 50000) = 2.5p − 65000
        ("50", "250000", "46000.00000000"),
        # exactly on the 2M edge: 535000 + 50·(40000 − 50000) = 35000 = MM(2000000)
        ("50", "535000", "40000.00000000"),
    ],
)
def test_the_boundary_is_solved_on_the_tier_its_notional_falls_in(size: str, allocated: str, expected: str) -> None:
    account = MarginAccount(usd("0"), (position("PF_XBTUSD", size, "50000", "50000", allocated),))
    price = liquidation_price(account, "PF_XBTUSD")
    assert price == D(expected)
    assert_last_safe_grid_price(account, "PF_XBTUSD", price)


def test_a_position_in_a_higher_tier_today_is_liquidated_in_the_first_tier() -> None:
    # N = 600 000 now (tier 1); 150000 + 20·(p − 30000) = 0.01·20p  →  p = 450000 / 19.8, N = 454 545 (tier 0)
    account = MarginAccount(usd("0"), (position("PF_XBTUSD", "20", "30000", "30000", "150000"),))
    assert liquidation_price(account, "PF_XBTUSD") == D("22727.27272728")


def test_the_contract_size_scales_the_exposure() -> None:
    # q = −0.5·10 = −5: 1500 − 5·(p − 3000) = 0.01·5p  →  p = 16500 / 5.05 = 3267.3267…
    account = MarginAccount(
        usd("0"), (position("PF_ETHUSD", "-0.5", "3000", "3000", "1500", contract_size="10", schedule=ETH),)
    )
    price = liquidation_price(account, "PF_ETHUSD")
    assert price == D("3267.32673267")
    assert_last_safe_grid_price(account, "PF_ETHUSD", price)


def test_a_pool_already_below_maintenance_still_gets_its_boundary_on_the_other_side_of_the_mark() -> None:
    account = MarginAccount(usd("0"), (position("PF_XBTUSD", "1", "60000", "50000", "6000"),))
    assert surplus(account, "PF_XBTUSD", D(50000)) < 0
    assert liquidation_price(account, "PF_XBTUSD") == D("54545.45454546")


def test_the_current_mark_does_not_move_the_boundary() -> None:
    prices = {
        liquidation_price(MarginAccount(usd("0"), (position("PF_XBTUSD", "1", "60000", mark, "6000"),)), "PF_XBTUSD")
        for mark in ("1", "54545.45454546", "60000", "90000")
    }
    assert prices == {D("54545.45454546")}


def test_a_long_at_one_times_leverage_cannot_be_liquidated() -> None:
    # 60000 + (p − 60000) = p ≥ 0.01·p at every p > 0
    account = MarginAccount(usd("0"), (position("PF_XBTUSD", "1", "60000", "60000", "60000"),))
    assert liquidation_price(account, "PF_XBTUSD") is None


def test_a_cross_long_with_ample_collateral_cannot_be_liquidated() -> None:
    account = MarginAccount(usd("1000000"), (position("PF_XBTUSD", "1", "60000", "60000"),))
    assert liquidation_price(account, "PF_XBTUSD") is None


def test_a_cross_short_that_even_a_mark_of_zero_cannot_save_has_no_boundary() -> None:
    # B = 1000 + 10·(10 − 3000) = −28900; at p → 0 the short adds 0.1·60000 = 6000: still below maintenance
    account = MarginAccount(
        usd("1000"),
        (position("PF_XBTUSD", "-0.1", "60000", "60000"), position("PF_ETHUSD", "10", "3000", "10", schedule=ETH)),
    )
    assert surplus(account, "PF_XBTUSD", PRICE_QUANTUM) < 0
    assert liquidation_price(account, "PF_XBTUSD") is None


def test_no_position_or_a_zero_size_has_no_liquidation_price() -> None:
    account = MarginAccount(usd("1000"), (position("PF_XBTUSD", "0", "60000", "60000"),))
    assert liquidation_price(account, "PF_XBTUSD") is None
    assert liquidation_price(account, "PF_ETHUSD") is None


FULL_ABOVE_1000 = MarginSchedule.of([MarginLevel(D(0), D("0.5"), D("0.5")), MarginLevel(D(1000), D(1), D(1))])


@pytest.mark.parametrize(
    ("allocated", "expected"),
    [
        # above N = 1000 the 100 % tier makes g flat at A − 1500; below, g = 0.5·p − (2000 − A)
        ("1600", D(800)),  # flat at +100: the boundary is the tier-0 root
        ("1500", D(1000)),  # flat at exactly 0: liquidated below 1000, not on the flat part
        ("1400", None),  # flat at −100: no mark saves it
        ("2000", None),  # g = 0.5·p on tier 0 and 500 above: no mark liquidates it
    ],
)
def test_a_long_on_a_full_maintenance_tier_has_zero_slope_there(allocated: str, expected: D | None) -> None:
    account = MarginAccount(
        usd("0"), (position("PF_XBTUSD", "1", "2000", "2000", allocated, schedule=FULL_ABOVE_1000),)
    )
    price = liquidation_price(account, "PF_XBTUSD")
    assert price == expected
    if price is not None:
        assert_last_safe_grid_price(account, "PF_XBTUSD", price)
