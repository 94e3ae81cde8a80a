"""Margin schedules: marginal tiers, like an income-tax bracket (SPEC §3.2, §3.3).

Rules:
- A schedule is a list of tiers ``(lower bound in USD notional, IM rate, MM rate)``, sorted by lower bound,
  the first starting at 0. Tier ``i`` covers ``[lo_i, lo_{i+1})``; the last is open-ended.
- ``IM(N) = Σ_i im_i · |[lo_i, hi_i) ∩ [0, N)|``, and ``MM(N)`` likewise with the mm rates. Both are
  continuous at tier edges and grow with ``N``.
- The leverage cap is ``N / IM(N)`` for a position of notional ``N > 0`` and ``1 / im_0`` without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class MarginLevel:
    """One tier: from ``lower_bound`` (USD notional) up, margin at these rates."""

    lower_bound: Decimal
    initial_rate: Decimal
    maintenance_rate: Decimal


@dataclass(frozen=True, slots=True)
class MarginSchedule:
    """The tiers of one contract, sorted by lower bound, the first at 0."""

    levels: tuple[MarginLevel, ...]

    @classmethod
    def of(cls, levels: Iterable[MarginLevel]) -> MarginSchedule:
        """Sort and check tiers: at least one, non-negative distinct bounds, the first at 0, rates in (0, 1]."""
        ordered = tuple(sorted(levels, key=lambda level: level.lower_bound))
        if not ordered:
            raise ValueError("a margin schedule needs at least one tier")
        if ordered[0].lower_bound != ZERO:
            raise ValueError("the first margin tier must start at 0")
        bounds = [level.lower_bound for level in ordered]
        if len(set(bounds)) != len(bounds):
            raise ValueError("margin tiers must have distinct lower bounds")
        for level in ordered:
            if not (ZERO < level.initial_rate <= 1 and ZERO < level.maintenance_rate <= 1):
                raise ValueError("margin rates must be in (0, 1]")
        return cls(ordered)

    def initial_margin(self, notional: Decimal) -> Decimal:
        """``IM(N)``: the initial margin of a position of USD notional ``N``."""
        return self._marginal(notional, initial=True)

    def maintenance_margin(self, notional: Decimal) -> Decimal:
        """``MM(N)``: the maintenance margin of a position of USD notional ``N``."""
        return self._marginal(notional, initial=False)

    def allows_leverage(self, max_leverage: Decimal, notional: Decimal) -> bool:
        """Whether ``max_leverage ≤ cap(N)``, decided without division: ``L·IM(N) ≤ N`` (or ``L·im_0 ≤ 1``)."""
        if notional <= ZERO:
            return max_leverage * self.levels[0].initial_rate <= 1
        return max_leverage * self.initial_margin(notional) <= notional

    def leverage_cap(self, notional: Decimal) -> Decimal:
        """``cap(N) = N / IM(N)``, or ``1 / im_0`` with no position (for display; decisions use ``allows_leverage``)."""
        with localcontext() as ctx:
            ctx.prec = 40
            if notional <= ZERO:
                return 1 / self.levels[0].initial_rate
            return notional / self.initial_margin(notional)

    def _marginal(self, notional: Decimal, *, initial: bool) -> Decimal:
        total = ZERO
        levels = self.levels
        for index, level in enumerate(levels):
            if notional <= level.lower_bound:
                break
            upper = levels[index + 1].lower_bound if index + 1 < len(levels) else notional
            width = min(notional, upper) - level.lower_bound
            total += width * (level.initial_rate if initial else level.maintenance_rate)
        return total
