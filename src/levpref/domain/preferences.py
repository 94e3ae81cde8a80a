"""A contract's margin mode, and parsing the ``maxLeverage`` parameter (SPEC §1.2, §3.1).

Rules:
- A contract is in **cross** margin (its position shares the account's cross pool; the default, with no
  leverage) or **isolated** at a max leverage ``L`` (its position has its own pool funded with ``A = N / L``).
  ``MarginMode`` is exactly one of the two; code asks which with ``match`` or ``isinstance``, never by testing a
  leverage for ``None``.
- ``maxLeverage`` is a plain decimal number (digits, optionally one point and up to two decimals), ≥ 1. No sign,
  no exponent, no ``NaN``/``inf``/``None``, no empty string. The cap of the margin schedule is checked by the
  caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Literal

from levpref.errors import InvalidArgument

_PLAIN_DECIMAL = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,2})?")  # at most 999999.99; caps are far lower
_CURRENCY = re.compile(r"[A-Z0-9]{2,10}")
_TWO = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Cross:
    """Cross margin: the position draws on the account's cross pool."""

    name: ClassVar[Literal["cross"]] = "cross"

    @property
    def max_leverage(self) -> None:
        """The wire's ``maxLeverage`` of this mode: none (the parameter is absent)."""
        return None


@dataclass(frozen=True, slots=True)
class Isolated:
    """Isolated margin at ``leverage`` (two decimals, ≥ 1): the position's pool is funded with ``N / leverage``."""

    leverage: Decimal
    name: ClassVar[Literal["isolated"]] = "isolated"

    @property
    def max_leverage(self) -> Decimal:
        """The wire's ``maxLeverage`` of this mode."""
        return self.leverage


MarginMode = Cross | Isolated
CROSS = Cross()


def margin_mode(max_leverage: Decimal | None) -> MarginMode:
    """The mode a stored or wire ``maxLeverage`` stands for: absent → cross, else isolated at it."""
    return CROSS if max_leverage is None else Isolated(max_leverage)


def parse_max_leverage(text: str) -> Decimal:
    """The max leverage as a Decimal with two decimals, or ``InvalidArgument``."""
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise InvalidArgument
    value = Decimal(text)
    if value < 1:
        raise InvalidArgument
    return value.quantize(_TWO)


def parse_margin_mode(text: str | None) -> MarginMode:
    """The mode a PUT asks for: no ``maxLeverage`` → cross, else isolated at the parsed leverage."""
    return CROSS if text is None else Isolated(parse_max_leverage(text))


def is_currency_code(text: str) -> bool:
    """Whether ``text`` is shaped like a currency code (``USD``, ``BTC``, ``USDT``)."""
    return _CURRENCY.fullmatch(text) is not None
