"""The margin model of multi-collateral accounts and the leverage-change decision (SPEC §3).

Rules:
- All amounts are USD ``Decimal`` computed in the ``EXACT`` context (``domain/exact.py``); nothing here reads a
  clock or does I/O. Figures are exact; the wire rounds them once (half-even, 1e-8).
- Collateral value ``CV = Σ q_c·px_c·(1 − h_c)``; a position's notional ``N = |s|·k·m`` and unrealised PnL
  ``U = s·k·(m − e)``.
- Each isolated position ``i`` is its own pool: equity ``A_i + U_i``, requirement ``MM(N_i)``.
- The cross pool holds everything else: equity ``E_x = CV + Σ_cross U_j − Σ_iso A_i``, initial margin
  ``IM_x = Σ_cross IM(N_j)``, maintenance ``MM_x = Σ_cross MM(N_j)``, available ``E_x − IM_x``.
- Isolating at leverage ``L`` allocates ``A = N / L`` rounded up to 1e-8 USD; going cross returns ``A``.
- A pool's *slack* is its equity minus its maintenance margin. The decision on a change (with a position):
  1. if it lowers the cross pool's available margin and that ends below zero → insufficient margin (92);
  2. else if a pool the change makes worse off (its slack decreases, or an isolated pool the change creates) ends
     with equity below its maintenance margin → would cause liquidation (41). A change touches only the cross
     pool and the changed contract's isolated pool: no other pool can make it fail;
  3. else accepted. Without a position a change is always accepted (it only stores the preference).
- Moving margin between pools never creates or destroys equity: ``E_x + Σ_iso (A_i + U_i) = CV + Σ U``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext

from levpref.domain.exact import EXACT, QUANTUM, divide, divide_up, round_money
from levpref.domain.preferences import Cross, Isolated, MarginMode
from levpref.domain.schedule import ZERO, MarginSchedule

ALLOCATION_QUANTUM = QUANTUM


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
        return EXACT.multiply(self.quantity, self.price)

    @property
    def collateral_value(self) -> Decimal:
        """``q_c·px_c·(1 − h_c)``."""
        return EXACT.multiply(self.value, EXACT.subtract(Decimal(1), self.haircut))


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
        return EXACT.multiply(EXACT.multiply(self.size.copy_abs(), self.contract_size), self.mark_price)

    @property
    def unrealized_pnl(self) -> Decimal:
        """``U = s·k·(m − e)``."""
        return _terms(self)[0]

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
    """``A = N / L``, the exact quotient rounded up to 1e-8 USD so an isolated pool never holds less than asked."""
    return divide_up(notional, max_leverage)


@dataclass(frozen=True, slots=True)
class CrossPool:
    equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal

    @property
    def available(self) -> Decimal:
        """``E_x − IM_x``."""
        return EXACT.subtract(self.equity, self.initial_margin)


@dataclass(frozen=True, slots=True)
class IsolatedPool:
    symbol: str
    allocated_margin: Decimal
    unrealized_pnl: Decimal
    maintenance_margin: Decimal

    @property
    def equity(self) -> Decimal:
        """``A_i + U_i``."""
        return EXACT.add(self.allocated_margin, self.unrealized_pnl)


@dataclass(frozen=True, slots=True)
class PositionSums:
    """Exact sums over a set of positions: the cross ones' ``Σ U``, ``Σ IM(N)``, ``Σ MM(N)``, and the isolated
    ones' ``Σ A``, ``Σ U`` and ``Σ MM(N)``. The pools need no more of the positions a change does not touch, so an
    account can be given as the positions a request looks at plus the sums of the others (``MarginAccount.others``).
    """

    cross_pnl: Decimal
    cross_initial: Decimal
    cross_maintenance: Decimal
    isolated_allocated: Decimal
    isolated_pnl: Decimal
    isolated_maintenance: Decimal

    @classmethod
    def of(cls, positions: Iterable[Position]) -> PositionSums:
        """The sums over ``positions``, in one pass (each position's margin computed once)."""
        with localcontext(EXACT):
            pnl = initial = maintenance = allocated = iso_pnl = iso_mm = ZERO
            for p in positions:
                exposure = p.size * p.contract_size
                u = exposure * (p.mark_price - p.entry_price)
                im, mm = p.schedule.margins(exposure.copy_abs() * p.mark_price)
                a = p.allocated_margin
                if a is None:
                    pnl, initial, maintenance = pnl + u, initial + im, maintenance + mm
                else:
                    allocated, iso_pnl, iso_mm = allocated + a, iso_pnl + u, iso_mm + mm
            return cls(pnl, initial, maintenance, allocated, iso_pnl, iso_mm)

    def plus(self, other: PositionSums) -> PositionSums:
        with localcontext(EXACT):
            return PositionSums(
                self.cross_pnl + other.cross_pnl, self.cross_initial + other.cross_initial,
                self.cross_maintenance + other.cross_maintenance, self.isolated_allocated + other.isolated_allocated,
                self.isolated_pnl + other.isolated_pnl, self.isolated_maintenance + other.isolated_maintenance,
            )  # fmt: skip

    def minus(self, other: PositionSums) -> PositionSums:
        with localcontext(EXACT):
            return PositionSums(
                self.cross_pnl - other.cross_pnl, self.cross_initial - other.cross_initial,
                self.cross_maintenance - other.cross_maintenance, self.isolated_allocated - other.isolated_allocated,
                self.isolated_pnl - other.isolated_pnl, self.isolated_maintenance - other.isolated_maintenance,
            )  # fmt: skip


NO_POSITIONS = PositionSums(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)


@dataclass(frozen=True, slots=True)
class Totals:
    """The sums of one account: ``CV``, the cross pool, ``Σ U``, ``Σ_iso A_i`` and ``Σ_iso MM(N_i)``."""

    collateral_value: Decimal
    cross_equity: Decimal
    cross_initial: Decimal
    cross_maintenance: Decimal
    unrealized_pnl: Decimal
    isolated_allocated: Decimal
    isolated_maintenance: Decimal


@dataclass(frozen=True, slots=True)
class MarginAccount:
    """Everything the margin model needs of one account: collateral and positions (at their marks).

    ``positions`` may be only some of the account's positions when ``others`` holds the exact sums of the rest:
    every pool, total and decision is then the same as with all of them listed (a store that keeps the sums lets a
    change of one contract read one position, whatever the account's size). ``position()`` finds listed ones only.
    """

    collateral: tuple[CollateralBalance, ...]
    positions: tuple[Position, ...]
    others: PositionSums = NO_POSITIONS

    @classmethod
    def of(
        cls, collateral: Iterable[CollateralBalance], positions: Iterable[Position], others: PositionSums = NO_POSITIONS
    ) -> MarginAccount:
        return cls(tuple(collateral), tuple(positions), others)

    def sums(self) -> PositionSums:
        """The sums over every position of the account, listed or not."""
        listed = PositionSums.of(self.positions)
        return listed if self.others is NO_POSITIONS else listed.plus(self.others)

    @property
    def balance_value(self) -> Decimal:
        """``BV = Σ q_c·px_c``."""
        with localcontext(EXACT):
            return sum((c.value for c in self.collateral), ZERO)

    @property
    def collateral_value(self) -> Decimal:
        """``CV = Σ q_c·px_c·(1 − h_c)``."""
        with localcontext(EXACT):
            return sum((c.collateral_value for c in self.collateral), ZERO)

    @property
    def unrealized_pnl(self) -> Decimal:
        """``Σ U`` over every position."""
        with localcontext(EXACT):
            return sum((p.unrealized_pnl for p in self.positions), self.others.cross_pnl + self.others.isolated_pnl)

    def position(self, symbol: str) -> Position | None:
        return next((p for p in self.positions if p.symbol == symbol), None)

    def cross_pool(self) -> CrossPool:
        """The cross pool, in one pass over the positions."""
        totals = self.totals()
        return CrossPool(totals.cross_equity, totals.cross_initial, totals.cross_maintenance)

    def totals(self) -> Totals:
        """Every sum the model needs, in one pass over the listed positions (each position's margin computed once)."""
        with localcontext(EXACT):
            cv = ZERO
            for c in self.collateral:
                cv += c.quantity * c.price * (1 - c.haircut)
            s = self.sums()
            return Totals(
                cv, cv + s.cross_pnl - s.isolated_allocated, s.cross_initial, s.cross_maintenance,
                s.cross_pnl + s.isolated_pnl, s.isolated_allocated, s.isolated_maintenance,
            )  # fmt: skip

    def isolated_pools(self) -> tuple[IsolatedPool, ...]:
        return tuple(
            IsolatedPool(p.symbol, p.allocated_margin, p.unrealized_pnl, p.maintenance_margin)
            for p in self.positions
            if p.allocated_margin is not None
        )

    def total_equity(self) -> Decimal:
        """Cross equity plus every isolated equity; always ``CV + Σ U``."""
        with localcontext(EXACT):
            unlisted = self.others.isolated_allocated + self.others.isolated_pnl
            return self.cross_pool().equity + sum((pool.equity for pool in self.isolated_pools()), unlisted)

    def with_allocation(self, symbol: str, allocated_margin: Decimal | None) -> MarginAccount:
        positions = tuple(
            Position(p.symbol, p.size, p.entry_price, p.mark_price, p.contract_size, p.schedule, allocated_margin)
            if p.symbol == symbol
            else p
            for p in self.positions
        )
        return MarginAccount(self.collateral, positions, self.others)


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    WOULD_CAUSE_LIQUIDATION = "would_cause_liquidation"


class Rule(enum.Enum):
    """The rule that decided a change (SPEC §3.4), named as the preview shows it (SPEC §6.1)."""

    NO_POSITION = "noPosition"  # accepted: only the preference is stored
    MARGIN_SUFFICIENT = "marginSufficient"  # accepted: rules 1 and 2 hold
    CROSS_AVAILABLE_BELOW_ZERO = "crossAvailableBelowZero"  # rule 1, 92
    POOL_BELOW_MAINTENANCE = "poolBelowMaintenance"  # rule 2, 41


CROSS_POOL = "cross"  # the cross pool's name in ``failed_pool`` (an isolated pool is named by its symbol)


@dataclass(frozen=True, slots=True)
class MarginDecision:
    """The verdict on a leverage change and the numbers behind it.

    ``failed_pool`` names the pool that failed the deciding rule: ``"cross"``, or the contract's symbol for its
    isolated pool. ``isolated_before``/``isolated_after`` are the changed contract's isolated pool (``None`` when
    it is cross on that side of the change).
    """

    outcome: Outcome
    rule: Rule
    symbol: str
    failed_pool: str | None
    allocated_before: Decimal | None
    allocated_after: Decimal | None
    cross_before: CrossPool
    cross_after: CrossPool
    isolated_before: IsolatedPool | None
    isolated_after: IsolatedPool | None
    before: MarginAccount
    after: MarginAccount

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def available_before(self) -> Decimal:
        return self.cross_before.available

    @property
    def available_after(self) -> Decimal:
        return self.cross_after.available

    @property
    def margin_moved(self) -> Decimal:
        """Margin moved from the cross pool into the isolated pool (negative when it went back)."""
        return EXACT.subtract(self.allocated_after or ZERO, self.allocated_before or ZERO)


def _terms(p: Position) -> tuple[Decimal, Decimal, Decimal]:
    """``(U, IM(N), MM(N))`` of a position, with ``s·k`` computed once (the hot loop of a decision)."""
    exposure = EXACT.multiply(p.size, p.contract_size)
    im, mm = p.schedule.margins(EXACT.multiply(exposure.copy_abs(), p.mark_price))
    return EXACT.multiply(exposure, EXACT.subtract(p.mark_price, p.entry_price)), im, mm


def _slack(equity: Decimal, maintenance: Decimal) -> Decimal:
    return EXACT.subtract(equity, maintenance)


def decide_leverage_change(account: MarginAccount, symbol: str, mode: MarginMode) -> MarginDecision:
    """Decide a change of ``symbol`` to ``mode`` (cross, or isolated at a leverage ``L``), SPEC §3.4.

    The change moves one position between pools: out of its pool before (cross: ``−U, −IM(N), −MM(N)``;
    isolated: ``+A`` back to cross equity) and into its pool after (cross: ``+U, +IM(N), +MM(N)``; isolated at
    ``L``: ``−A'`` from cross equity, a pool of equity ``A' + U``). One pass computes the cross pool before, so the
    cost is O(positions) with each position's margin computed once, and the pools the change does not touch are
    never examined: they cannot decide it.
    """
    with localcontext(EXACT):
        position = account.position(symbol)
        cross_before = account.cross_pool()
        if position is None:
            return MarginDecision(
                Outcome.ACCEPTED, Rule.NO_POSITION, symbol, None, None, None,
                cross_before, cross_before, None, None, account, account,
            )  # fmt: skip
        pnl, im, mm = _terms(position)
        equity, initial, maintenance = cross_before.equity, cross_before.initial_margin, cross_before.maintenance_margin
        allocated_before = position.allocated_margin
        if allocated_before is None:
            equity, initial, maintenance = equity - pnl, initial - im, maintenance - mm
            isolated_before = None
        else:
            equity += allocated_before
            isolated_before = IsolatedPool(symbol, allocated_before, pnl, mm)
        match mode:
            case Cross():
                allocated_after, isolated_after = None, None
                equity, initial, maintenance = equity + pnl, initial + im, maintenance + mm
            case Isolated(leverage):
                allocated_after = allocation_for(position.notional, leverage)
                equity, isolated_after = equity - allocated_after, IsolatedPool(symbol, allocated_after, pnl, mm)
        cross_after = CrossPool(equity, initial, maintenance)
        outcome, rule, failed = _judge(cross_before, cross_after, isolated_before, isolated_after)
        return MarginDecision(
            outcome, rule, symbol, failed, allocated_before, allocated_after, cross_before, cross_after,
            isolated_before, isolated_after, account, account.with_allocation(symbol, allocated_after),
        )  # fmt: skip


def _judge(
    cross_before: CrossPool,
    cross_after: CrossPool,
    isolated_before: IsolatedPool | None,
    isolated_after: IsolatedPool | None,
) -> tuple[Outcome, Rule, str | None]:
    """Rules 1 and 2 of SPEC §3.4 on the two pools a change touches."""
    if cross_after.available < cross_before.available and cross_after.available < ZERO:
        return Outcome.INSUFFICIENT_MARGIN, Rule.CROSS_AVAILABLE_BELOW_ZERO, CROSS_POOL
    cross_worse = _slack(cross_after.equity, cross_after.maintenance_margin) < _slack(
        cross_before.equity, cross_before.maintenance_margin
    )
    if cross_worse and cross_after.equity < cross_after.maintenance_margin:
        return Outcome.WOULD_CAUSE_LIQUIDATION, Rule.POOL_BELOW_MAINTENANCE, CROSS_POOL
    if isolated_after is not None:
        isolated_worse = isolated_before is None or _slack(
            isolated_after.equity, isolated_after.maintenance_margin
        ) < _slack(isolated_before.equity, isolated_before.maintenance_margin)
        if isolated_worse and isolated_after.equity < isolated_after.maintenance_margin:
            return Outcome.WOULD_CAUSE_LIQUIDATION, Rule.POOL_BELOW_MAINTENANCE, isolated_after.symbol
    return Outcome.ACCEPTED, Rule.MARGIN_SUFFICIENT, None


def is_liquidatable(account: MarginAccount) -> bool:
    """Whether any pool has equity below its maintenance margin (of the isolated pools: the listed ones)."""
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
    """Summarise an account the way Kraken's ``flex`` object does, from the same pools as the decision.

    Every figure is exact; ``currencies[c].available = round(q_c·avail/CV)`` clamped to ``[0, q_c]`` (0 when
    ``CV`` is 0) is the one quotient, rounded once, half-even to 1e-8.
    """
    with localcontext(EXACT):
        totals = account.totals()
        cv, upnl = totals.collateral_value, totals.unrealized_pnl
        available = totals.cross_equity - totals.cross_initial
        bv = account.balance_value
        currencies = {
            c.currency: (c.quantity, c.value, c.collateral_value, _available_share(c.quantity, available, cv))
            for c in account.collateral
        }
        return FlexSummary(
            currencies=currencies,
            balance_value=bv,
            collateral_value=cv,
            unrealized_pnl=upnl,
            portfolio_value=bv + upnl,
            margin_equity=cv + upnl,
            initial_margin=totals.cross_initial + totals.isolated_allocated,
            maintenance_margin=totals.cross_maintenance + totals.isolated_maintenance,
            available_margin=available,
        )


def _available_share(quantity: Decimal, available: Decimal, collateral_value: Decimal) -> Decimal:
    """``round(q·avail/CV)`` clamped to ``[0, q]``; 0 when ``CV ≤ 0`` or ``avail ≤ 0``."""
    if collateral_value <= ZERO or available <= ZERO or quantity <= ZERO:
        return ZERO
    if available >= collateral_value:
        return quantity
    return min(divide(EXACT.multiply(quantity, available), collateral_value), quantity)


__all__ = [
    "CROSS_POOL",
    "NO_POSITIONS",
    "CollateralBalance",
    "CrossPool",
    "FlexSummary",
    "IsolatedPool",
    "MarginAccount",
    "MarginDecision",
    "Outcome",
    "Position",
    "PositionSums",
    "Rule",
    "allocation_for",
    "decide_leverage_change",
    "flex_summary",
    "is_liquidatable",
    "round_money",
]
