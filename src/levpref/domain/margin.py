"""The margin model of multi-collateral accounts and the leverage-change decision (SPEC §3).

Rules:
- All amounts are USD ``Decimal``; nothing here reads a clock or does I/O.
- Collateral value ``CV = Σ q_c·px_c·(1 − h_c)``; a position's notional ``N = |s|·k·m`` and unrealised PnL
  ``U = s·k·(m − e)``.
- Each isolated position ``i`` is its own pool: equity ``A_i + U_i``, requirement ``MM(N_i)``.
- The cross pool holds everything else: equity ``E_x = CV + Σ_cross U_j − Σ_iso A_i``, initial margin
  ``IM_x = Σ_cross IM(N_j)``, maintenance ``MM_x = Σ_cross MM(N_j)``, available ``E_x − IM_x``.
- Isolating at leverage ``L`` allocates ``A = N / L`` rounded up to 1e-8 USD; going cross returns ``A``.
- The decision on a change (with a position): if it lowers the cross pool's available margin and that ends
  below zero → insufficient margin (92); else if any pool ends with equity below its maintenance margin →
  would cause liquidation (41); else accepted. Without a position a change is always accepted.
- Moving margin between pools never creates or destroys equity: ``E_x + Σ_iso (A_i + U_i) = CV + Σ U``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal, localcontext

from levpref.domain.schedule import ZERO, MarginSchedule

ALLOCATION_QUANTUM = Decimal("1e-8")


@dataclass(frozen=True, slots=True)
class CollateralBalance:
    """A balance ``q_c`` of one currency at price ``px_c`` (USD) with haircut ``h_c``."""

    currency: str
    quantity: Decimal
    price: Decimal
    haircut: Decimal

    @property
    def value(self) -> Decimal:
        """``q_c·px_c``."""
        return self.quantity * self.price

    @property
    def collateral_value(self) -> Decimal:
        """``q_c·px_c·(1 − h_c)``."""
        return self.quantity * self.price * (1 - self.haircut)


@dataclass(frozen=True, slots=True)
class Position:
    """An open position; ``allocated_margin`` is ``A`` when isolated and ``None`` when cross."""

    symbol: str
    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    contract_size: Decimal
    schedule: MarginSchedule
    allocated_margin: Decimal | None = None

    @property
    def notional(self) -> Decimal:
        """``N = |s|·k·m``."""
        return abs(self.size) * self.contract_size * self.mark_price

    @property
    def unrealized_pnl(self) -> Decimal:
        """``U = s·k·(m − e)``."""
        return self.size * self.contract_size * (self.mark_price - self.entry_price)

    @property
    def is_isolated(self) -> bool:
        return self.allocated_margin is not None

    @property
    def initial_margin(self) -> Decimal:
        return self.schedule.margins(self.notional)[0]

    @property
    def maintenance_margin(self) -> Decimal:
        return self.schedule.margins(self.notional)[1]


def allocation_for(notional: Decimal, max_leverage: Decimal) -> Decimal:
    """``A = N / L``, rounded up to 1e-8 USD so an isolated pool never holds less than asked."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (notional / max_leverage).quantize(ALLOCATION_QUANTUM, rounding=ROUND_CEILING)


@dataclass(frozen=True, slots=True)
class CrossPool:
    equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal

    @property
    def available(self) -> Decimal:
        """``E_x − IM_x``."""
        return self.equity - self.initial_margin


@dataclass(frozen=True, slots=True)
class IsolatedPool:
    symbol: str
    allocated_margin: Decimal
    unrealized_pnl: Decimal
    maintenance_margin: Decimal

    @property
    def equity(self) -> Decimal:
        """``A_i + U_i``."""
        return self.allocated_margin + self.unrealized_pnl


@dataclass(frozen=True, slots=True)
class MarginAccount:
    """Everything the margin model needs of one account: collateral and positions (at their marks)."""

    collateral: tuple[CollateralBalance, ...]
    positions: tuple[Position, ...]

    @classmethod
    def of(cls, collateral: Iterable[CollateralBalance], positions: Iterable[Position]) -> MarginAccount:
        return cls(tuple(collateral), tuple(positions))

    @property
    def balance_value(self) -> Decimal:
        """``BV = Σ q_c·px_c``."""
        return sum((c.value for c in self.collateral), ZERO)

    @property
    def collateral_value(self) -> Decimal:
        """``CV = Σ q_c·px_c·(1 − h_c)``."""
        return sum((c.collateral_value for c in self.collateral), ZERO)

    @property
    def unrealized_pnl(self) -> Decimal:
        """``Σ U`` over every position."""
        return sum((p.unrealized_pnl for p in self.positions), ZERO)

    def position(self, symbol: str) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)

    def cross_pool(self) -> CrossPool:
        equity = self.collateral_value
        initial = maintenance = ZERO
        for p in self.positions:
            if p.allocated_margin is None:
                equity += p.unrealized_pnl
                initial += p.initial_margin
                maintenance += p.maintenance_margin
            else:
                equity -= p.allocated_margin
        return CrossPool(equity, initial, maintenance)

    def isolated_pools(self) -> tuple[IsolatedPool, ...]:
        return tuple(
            IsolatedPool(p.symbol, p.allocated_margin, p.unrealized_pnl, p.maintenance_margin)
            for p in self.positions
            if p.allocated_margin is not None
        )

    def total_equity(self) -> Decimal:
        """Cross equity plus every isolated equity; always ``CV + Σ U``."""
        return self.cross_pool().equity + sum((pool.equity for pool in self.isolated_pools()), ZERO)

    def with_allocation(self, symbol: str, allocated_margin: Decimal | None) -> MarginAccount:
        positions = tuple(
            replace(p, allocated_margin=allocated_margin) if p.symbol == symbol else p for p in self.positions
        )
        return MarginAccount(self.collateral, positions)


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    WOULD_CAUSE_LIQUIDATION = "would_cause_liquidation"


@dataclass(frozen=True, slots=True)
class MarginDecision:
    """The verdict on a leverage change and the numbers behind it."""

    outcome: Outcome
    symbol: str
    allocated_before: Decimal | None
    allocated_after: Decimal | None
    available_before: Decimal
    available_after: Decimal
    before: MarginAccount
    after: MarginAccount

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def margin_moved(self) -> Decimal:
        """Margin moved from the cross pool into the isolated pool (negative when it went back)."""
        return (self.allocated_after or ZERO) - (self.allocated_before or ZERO)


def _terms(p: Position) -> tuple[Decimal, Decimal, Decimal]:
    """``(U, IM(N), MM(N))`` of a position, with ``s·k`` computed once (the hot loop of a decision)."""
    exposure = p.size * p.contract_size
    im, mm = p.schedule.margins(abs(exposure) * p.mark_price)
    return exposure * (p.mark_price - p.entry_price), im, mm


def decide_leverage_change(account: MarginAccount, symbol: str, max_leverage: Decimal | None) -> MarginDecision:
    """Decide a change of ``symbol`` to isolated at ``max_leverage`` (or to cross when ``None``), SPEC §3.4.

    One pass over the positions computes the cross pool before the change and whether any *other* isolated pool
    is below maintenance; the changed position's terms are then moved between pools, so the cost is O(positions)
    with each position's margin computed once.
    """
    position = account.position(symbol)
    if position is None:
        available = account.cross_pool().available
        return MarginDecision(Outcome.ACCEPTED, symbol, None, None, available, available, account, account)
    equity = account.collateral_value
    initial = maintenance = ZERO
    other_isolated_liquidatable = False
    changed_pnl, changed_im, changed_mm = _terms(position)
    for p in account.positions:
        pnl, im, mm = _terms(p)
        allocated = p.allocated_margin
        if allocated is None:
            equity += pnl
            initial += im
            maintenance += mm
        else:
            equity -= allocated
            if p is not position and allocated + pnl < mm:
                other_isolated_liquidatable = True
    before = CrossPool(equity, initial, maintenance)
    # take the changed position out of its pool, then put it into its new one
    if position.allocated_margin is None:
        equity -= changed_pnl
        initial -= changed_im
        maintenance -= changed_mm
    else:
        equity += position.allocated_margin
    allocated_after = None if max_leverage is None else allocation_for(position.notional, max_leverage)
    if allocated_after is None:
        equity += changed_pnl
        initial += changed_im
        maintenance += changed_mm
        isolated_liquidatable = False
    else:
        equity -= allocated_after
        isolated_liquidatable = allocated_after + changed_pnl < changed_mm
    after_cross = CrossPool(equity, initial, maintenance)
    outcome = Outcome.ACCEPTED
    if after_cross.available < before.available and after_cross.available < ZERO:
        outcome = Outcome.INSUFFICIENT_MARGIN
    elif after_cross.equity < after_cross.maintenance_margin or isolated_liquidatable or other_isolated_liquidatable:
        outcome = Outcome.WOULD_CAUSE_LIQUIDATION
    return MarginDecision(
        outcome,
        symbol,
        position.allocated_margin,
        allocated_after,
        before.available,
        after_cross.available,
        account,
        account.with_allocation(symbol, allocated_after),
    )


def is_liquidatable(account: MarginAccount) -> bool:
    """Whether any pool has equity below its maintenance margin."""
    cross = account.cross_pool()
    if cross.equity < cross.maintenance_margin:
        return True
    return any(pool.equity < pool.maintenance_margin for pool in account.isolated_pools())


@dataclass(frozen=True, slots=True)
class FlexSummary:
    """The ``flex`` account of GET /accounts (SPEC §3.5)."""

    currencies: Mapping[str, tuple[Decimal, Decimal, Decimal, Decimal]]  # quantity, value, collateral, available
    balance_value: Decimal
    collateral_value: Decimal
    unrealized_pnl: Decimal
    portfolio_value: Decimal
    margin_equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    available_margin: Decimal


def flex_summary(account: MarginAccount) -> FlexSummary:
    """Summarise an account the way Kraken's ``flex`` object does, from the same pools as the decision."""
    cross = account.cross_pool()
    pools = account.isolated_pools()
    cv = account.collateral_value
    upnl = account.unrealized_pnl
    with localcontext() as ctx:
        ctx.prec = 40
        share = ZERO if cv <= ZERO else min(max(cross.available / cv, ZERO), Decimal(1))
        currencies = {
            c.currency: (c.quantity, c.value, c.collateral_value, c.quantity * share) for c in account.collateral
        }
    return FlexSummary(
        currencies=currencies,
        balance_value=account.balance_value,
        collateral_value=cv,
        unrealized_pnl=upnl,
        portfolio_value=account.balance_value + upnl,
        margin_equity=cv + upnl,
        initial_margin=cross.initial_margin + sum((p.allocated_margin for p in pools), ZERO),
        maintenance_margin=cross.maintenance_margin + sum((p.maintenance_margin for p in pools), ZERO),
        available_margin=cross.available,
    )
