"""Margin schedules: marginal tiers, like an income-tax bracket (SPEC §3.2, §3.3).

Rules:
- A schedule is a list of tiers ``(lower bound in USD notional, IM rate, MM rate)``, sorted by lower bound,
  the first starting at 0. Tier ``i`` covers ``[lo_i, lo_{i+1})``; the last is open-ended.
- ``IM(N) = Σ_i im_i · |[lo_i, hi_i) ∩ [0, N)|``, and ``MM(N)`` likewise with the mm rates. Both are
  continuous at tier edges and grow with ``N``.
- The leverage cap is ``N / IM(N)`` for a position of notional ``N > 0`` and ``1 / im_0`` without one; whether a
  leverage is within it is decided exactly, as ``L·IM(N) ≤ N`` (never a rounded quotient).
- Margins are computed in the ``EXACT`` context (``domain/exact.py``): no digit is lost within the admin bounds.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from levpref.domain.exact import EXACT

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
    # derived once: tier bounds, and IM/MM accumulated below each tier's lower bound
    _bounds: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)
    _below: tuple[tuple[Decimal, Decimal], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        bounds = tuple(level.lower_bound for level in self.levels)
        below = [(ZERO, ZERO)]
        for previous, level in zip(self.levels, self.levels[1:], strict=False):
            width = EXACT.subtract(level.lower_bound, previous.lower_bound)
            im, mm = below[-1]
            below.append((EXACT.fma(width, previous.initial_rate, im), EXACT.fma(width, previous.maintenance_rate, mm)))
        object.__setattr__(self, "_bounds", bounds)
        object.__setattr__(self, "_below", tuple(below))

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
        return self.margins(notional)[0]

    def maintenance_margin(self, notional: Decimal) -> Decimal:
        """``MM(N)``: the maintenance margin of a position of USD notional ``N``."""
        return self.margins(notional)[1]

    def margins(self, notional: Decimal) -> tuple[Decimal, Decimal]:
        """``(IM(N), MM(N))`` in one lookup: the margin accumulated below N's tier plus N's part of that tier."""
        if notional <= ZERO:
            return ZERO, ZERO
        tier = bisect_right(self._bounds, notional) - 1
        level = self.levels[tier]
        im, mm = self._below[tier]
        width = EXACT.subtract(notional, level.lower_bound)
        return EXACT.fma(width, level.initial_rate, im), EXACT.fma(width, level.maintenance_rate, mm)

    def allows_leverage(self, max_leverage: Decimal, notional: Decimal) -> bool:
        """Whether ``max_leverage ≤ cap(N)``, decided exactly and without division: ``L·IM(N) ≤ N``
        (or ``L·im_0 ≤ 1`` with no position)."""
        if notional <= ZERO:
            return EXACT.multiply(max_leverage, self.levels[0].initial_rate) <= 1
        return EXACT.multiply(max_leverage, self.initial_margin(notional)) <= notional

    def leverage_cap(self, notional: Decimal) -> Decimal:
        """``cap(N) = N / IM(N)``, or ``1 / im_0`` with no position (for display; decisions use ``allows_leverage``)."""
        with localcontext() as ctx:
            ctx.prec = 40
            if notional <= ZERO:
                return 1 / self.levels[0].initial_rate
            return notional / self.initial_margin(notional)
