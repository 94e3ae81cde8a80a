"""Exact money arithmetic (SPEC §3.5 "Exactness").

Rules:
- Sums and products of money run in ``EXACT``, a ``Decimal`` context wide enough that no input within the admin
  bounds loses a digit. The bounds (SPEC §4): amounts below 1e12 with at most 18 decimals (≤ 30 significant
  digits), rates in (0, 1] with at most 18 decimals. The widest product the model forms is a position's initial
  margin times a leverage, ``L·IM(N)`` with ``IM(N) = Σ width·rate`` and ``N = |s|·k·m``: about 30·3 + 19 + 9
  = 118 significant digits, and sums over positions add a few more. ``EXACT_PRECISION = 200`` leaves a wide margin.
- Division is never done in a context (a quotient like ``q·avail/CV`` has no finite expansion): ``divide`` computes
  the exact rational quotient and rounds it once, to a multiple of 1e-8, in the direction asked for.
- A figure for the wire is rounded once, at the end, half-even to 1e-8 USD.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from fractions import Fraction
from typing import Literal

EXACT_PRECISION = 200
EXACT = Context(
    prec=EXACT_PRECISION,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
QUANTUM = Decimal("1e-8")
_SCALE = 10**8

Rounding = Literal["half_even", "ceiling"]


def divide(numerator: Decimal, denominator: Decimal, rounding: Rounding = "half_even") -> Decimal:
    """``numerator / denominator`` as an exact rational, rounded once to a multiple of 1e-8.

    ``half_even`` rounds to the nearest multiple (ties to even), ``ceiling`` up to the next one.
    """
    scaled = Fraction(numerator) * _SCALE / Fraction(denominator)
    units = math.ceil(scaled) if rounding == "ceiling" else round(scaled)
    return Decimal(units).scaleb(-8, EXACT)


_CEILING = EXACT.copy()
_CEILING.rounding = ROUND_CEILING


def divide_up(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` rounded up to a multiple of 1e-8, for a denominator of at most 8 significant
    digits (a leverage: ≤ 2 decimals, below 1e6) and admin-bounded numerators.

    Exact without a rational: the quotient ``a/l`` (``l`` the denominator as an integer) is either a multiple of
    1e-8 or at least ``1/(l·10^54)`` away from one (numerators have at most 54 decimals), a gap 200 digits resolve
    at any magnitude the bounds allow (≤ 1e36); rounding the division itself up then never crosses a multiple.
    """
    return _CEILING.divide(numerator, denominator).quantize(QUANTUM, rounding=ROUND_CEILING, context=_CEILING)


def round_money(value: Decimal) -> Decimal:
    """``value`` rounded half-even to 1e-8 (exact inputs in, one rounding out)."""
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN, context=EXACT)
