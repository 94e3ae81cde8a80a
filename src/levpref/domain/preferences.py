"""Parsing the ``maxLeverage`` parameter (SPEC §1.2).

Rules: a plain decimal number (digits, optionally one point and up to two decimals), ≥ 1. No sign, no exponent,
no ``NaN``/``inf``/``None``, no empty string. The cap of the margin schedule is checked by the caller.
"""

from __future__ import annotations

import re
from decimal import Decimal

from levpref.errors import InvalidArgument

_PLAIN_DECIMAL = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,2})?")  # at most 999999.99; caps are far lower
_CURRENCY = re.compile(r"[A-Z0-9]{2,10}")


def parse_max_leverage(text: str) -> Decimal:
    """The max leverage as a Decimal with two decimals, or ``InvalidArgument``."""
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise InvalidArgument
    value = Decimal(text)
    if value < 1:
        raise InvalidArgument
    return value.quantize(Decimal("0.01"))


def is_currency_code(text: str) -> bool:
    """Whether ``text`` is shaped like a currency code (``USD``, ``BTC``, ``USDT``)."""
    return _CURRENCY.fullmatch(text) is not None
