"""Liquidation prices: the mark at which a position's pool meets its maintenance margin (SPEC §6.1).

Rules:
- A position's pool is its isolated pool when it has allocated margin ``A``, else the cross pool (SPEC §3.4).
  Only the position's own mark ``p`` moves; every other mark, the collateral and every ``A`` stay fixed.
- With ``q = s·k`` and ``n = |q|``, the pool's surplus over maintenance at mark ``p`` is
  ``g(p) = B + q·(p − e) − F − MM(n·p)``, where
  isolated: ``B = A`` and ``F = 0``;
  cross:    ``B = CV + Σ_{cross j ≠ this} U_j − Σ_iso A_i`` and ``F = Σ_{cross j ≠ this} MM(N_j)``.
- ``MM`` is marginal by tier, so on tier ``i`` (``n·p ∈ [lo_i, hi_i)``) ``g`` is affine in ``p``:
  ``g(p) = c_i + d_i·p`` with ``c_i = B − q·e − F − MM(lo_i) + mm_i·lo_i`` and ``d_i = q − mm_i·n``.
- A long has ``d_i = n·(1 − mm_i) ≥ 0``: ``g`` never falls as the mark rises, and the pool is below maintenance
  exactly when ``p < p*``. A short has ``d_i = −n·(1 + mm_i) < 0``: below maintenance exactly when ``p > p*``.
  ``p*`` is found tier by tier in closed form (``p = −c_i / d_i`` when it lies in the tier): no iteration, no
  float. ``B`` and ``F`` are Decimal sums in a 120-digit context (exact for amounts within the admin bounds of
  §4); the solve is exact rational arithmetic (``fractions.Fraction``), so nothing is rounded before the last step.
- The result is rounded once to 1e-8 USD **toward the safe side** (a long's up, a short's down): it is the last
  price on the 1e-8 grid at which the pool still meets maintenance, and one step further liquidates it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from decimal import Decimal, localcontext
from fractions import Fraction

from levpref.domain.margin import MarginAccount, Position
from levpref.domain.schedule import ZERO

__all__ = ["PRICE_QUANTUM", "liquidation_price"]

PRICE_QUANTUM = Decimal("1e-8")
_GRID = 10**8  # steps of PRICE_QUANTUM per USD
# Sums of products of three admin-bounded amounts (each < 1e12 with ≤ 18 decimals) span at most ~90 digits.
_EXACT_PRECISION = 120


def liquidation_price(account: MarginAccount, symbol: str) -> Decimal | None:
    """The mark of ``symbol`` at which its pool's equity equals its maintenance margin, other marks fixed.

    Returns ``p*`` (solving ``g(p*) = 0`` in the module's notation) rounded to 1e-8 toward the safe side: for a
    long the pool is below maintenance at every grid price below the result and not at the result; for a short,
    at every grid price above it and not at it. The boundary does not depend on the position's current mark, so
    a pool already below maintenance still gets it (a long's is then above the mark, a short's below). A short's
    boundary below 1e-8 rounds to 0.

    ``None`` when there is no positive boundary to show: the account holds no position in ``symbol`` (or a zero
    size); no positive mark liquidates the pool (e.g. a long at 1× leverage); or no mark saves it (only a short
    whose pool is below maintenance even as its mark tends to 0, or a long on a 100 % maintenance tier).
    Assumes maintenance rates in (0, 1], as ``MarginSchedule.of`` checks.
    """
    position = account.position(symbol)
    if position is None or position.size == ZERO:
        return None
    base, fixed = _pool_terms(account, position)
    exposure = Fraction(position.size) * Fraction(position.contract_size)
    pieces = _affine_pieces(base - exposure * Fraction(position.entry_price) - fixed, exposure, position)
    if exposure > 0:
        boundary = _long_boundary(pieces)
        return None if boundary is None else _on_grid(math.ceil(boundary * _GRID))
    boundary = _short_boundary(pieces)
    return None if boundary is None else _on_grid(math.floor(boundary * _GRID))


def _pool_terms(account: MarginAccount, position: Position) -> tuple[Fraction, Fraction]:
    """``(B, F)``: what the position's pool holds apart from the position, and the others' maintenance margin."""
    if position.allocated_margin is not None:
        return Fraction(position.allocated_margin), Fraction(0)
    with localcontext() as ctx:
        ctx.prec = _EXACT_PRECISION
        others = account.others  # the sums of the positions not listed
        base = account.collateral_value + others.cross_pnl - others.isolated_allocated
        fixed = others.cross_maintenance
        for other in account.positions:
            if other is position:
                continue
            if other.allocated_margin is None:
                base += other.unrealized_pnl
                fixed += other.maintenance_margin
            else:
                base -= other.allocated_margin
    return Fraction(base), Fraction(fixed)


_Piece = tuple[Fraction, Fraction, Fraction, Fraction | None]


def _affine_pieces(constant: Fraction, exposure: Fraction, position: Position) -> Iterator[_Piece]:
    """Per tier, in order: ``(c_i, d_i, first price of the tier, price where it ends or None)``.

    ``constant`` is ``B − q·e − F``; ``MM(lo_i)`` is accumulated here exactly, tier by tier.
    """
    size = abs(exposure)
    levels = position.schedule.levels
    below = Fraction(0)
    for i, level in enumerate(levels):
        lower, rate = Fraction(level.lower_bound), Fraction(level.maintenance_rate)
        upper = Fraction(levels[i + 1].lower_bound) if i + 1 < len(levels) else None
        yield (
            constant - below + rate * lower,
            exposure - rate * size,
            lower / size,
            None if upper is None else upper / size,
        )
        if upper is not None:
            below += (upper - lower) * rate


def _long_boundary(pieces: Iterable[_Piece]) -> Fraction | None:
    """``inf{p > 0 : g(p) ≥ 0}`` for a non-decreasing ``g``; ``None`` when that is 0 or the set is empty."""
    for constant, slope, start, end in pieces:
        if slope > 0:
            first = max(start, -constant / slope)
        elif constant >= 0:  # a 100 % maintenance tier: g is flat here
            first = start
        else:
            continue
        if end is None or first < end:
            return first if first > 0 else None
    return None


def _short_boundary(pieces: Iterable[_Piece]) -> Fraction | None:
    """The root of a strictly decreasing ``g`` (``sup{p > 0 : g(p) ≥ 0}``); ``None`` when ``g(0) ≤ 0``."""
    for constant, slope, start, end in pieces:
        root = -constant / slope
        if start <= root and (end is None or root < end):
            return root if root > 0 else None
    return None


def _on_grid(steps: int) -> Decimal:
    """``steps · 1e-8`` built exactly (no context rounding)."""
    return Decimal(f"{steps}E-8")
