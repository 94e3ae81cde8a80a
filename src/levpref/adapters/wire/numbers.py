"""Decimal types of the wire, checked while decoding (SPEC §4 "Strict input").

Rules:
- A number is a JSON/TOML number or a string matching ``-?[0-9]+(\\.[0-9]+)?``: no exponent, no ``_``, no spaces,
  no sign but ``-``, ASCII digits only; below 1e12 in magnitude, at most 18 decimals. It becomes a ``Decimal``
  digit for digit (never through float).
- A number literal written with an exponent is never turned into a Decimal: it decodes to ``Spelled`` (its text),
  which every amount type refuses, so ``9e999999`` costs nothing. Kraken's own instrument numbers (a saved
  ``GET /instruments`` writes ``0E-20``) may carry a small exponent: ``InstrumentNumber`` takes ``|e| ≤ 30``.
- Each type below is a ``Decimal`` subclass that names a check: msgspec hands a field of that type to
  ``decimal_hook``, which answers the checked value in that type or raises ``ValueError`` with the sentence that
  follows the field's path in the error. ``plain`` turns it back into a ``Decimal`` before it leaves the wire.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import NoReturn

from levpref.domain.preferences import parse_max_leverage
from levpref.errors import InvalidArgument

_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_SMALL_EXPONENT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9]{1,2}")
LIMIT = Decimal("1e12")
MAX_DECIMALS = 18
PLAIN = "a decimal number (digits, an optional fraction, no exponent)"


class Spelled:
    """A number literal written with an exponent, kept as text (never evaluated)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def number_literal(text: str) -> Decimal | Spelled:
    """The float hook of the JSON and TOML decoders: a plain literal → Decimal, any other → ``Spelled``."""
    return Decimal(text) if _PLAIN.fullmatch(text) else Spelled(text)


class Amount(Decimal):
    """A quantity ≥ 0 (collateral balance, allocated margin)."""


class SignedAmount(Decimal):
    """A non-zero quantity, negative for short (a position size)."""


class Price(Decimal):
    """A price or size > 0."""


class Haircut(Decimal):
    """A collateral haircut in [0, 1]."""


class Rate(Decimal):
    """A margin rate in (0, 1]."""


class Leverage(Decimal):
    """A max leverage: the grammar of SPEC §1.2 (plain, at most 2 decimals, ≥ 1); the cap is the service's."""


class InstrumentNumber(Decimal):
    """A number of Kraken's instrument schema (as a saved response writes it); bounds checked on its value."""


def _refuse(expected: str) -> NoReturn:
    raise ValueError(f"expected {expected}")


def _plain(value: object, expected: str) -> Decimal:
    """A Decimal from a plain number or string within the bounds, or ``ValueError`` saying ``expected``."""
    if isinstance(value, bool):
        _refuse(expected)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _PLAIN.fullmatch(value):
        number = Decimal(value)
    else:
        _refuse(expected)
    if number.copy_abs() >= LIMIT:
        _refuse(f"{expected}, below 1e12 in magnitude")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        _refuse(f"{expected} with at most {MAX_DECIMALS} decimals")
    return number


def _amount(value: object) -> Decimal:
    number = _plain(value, f"{PLAIN} ≥ 0")
    return number if number >= 0 else _refuse(f"{PLAIN} ≥ 0")


def _signed(value: object) -> Decimal:
    number = _plain(value, f"{PLAIN} other than 0")
    return number if number != 0 else _refuse(f"{PLAIN} other than 0")


def _price(value: object) -> Decimal:
    number = _plain(value, f"{PLAIN} > 0")
    return number if number > 0 else _refuse(f"{PLAIN} > 0")


def _haircut(value: object) -> Decimal:
    number = _plain(value, f"{PLAIN} from 0 to 1")
    return number if 0 <= number <= 1 else _refuse(f"{PLAIN} from 0 to 1")


def _rate(value: object) -> Decimal:
    number = _plain(value, f"{PLAIN} > 0 and ≤ 1")
    return number if 0 < number <= 1 else _refuse(f"{PLAIN} > 0 and ≤ 1")


def _leverage(value: object) -> Decimal:
    expected = "a max leverage ≥ 1 with at most 2 decimals (5, 2.5, 10.00)"
    number = _plain(value, expected)
    try:
        parse_max_leverage(format(number, "f"))
    except InvalidArgument:
        _refuse(expected)
    return number


def instrument_number(value: object) -> Decimal:
    """Kraken's spelling is kept (``0E-20``, ``1000000.00000000000000000000``); the bounds apply to the value."""
    if isinstance(value, Spelled) and _SMALL_EXPONENT.fullmatch(value.text):
        value = Decimal(value.text)
    if not isinstance(value, Decimal):
        return _plain(value, "a decimal number")
    _plain(value.normalize() if value.is_finite() else None, "a decimal number")
    return value


_CHECKS: dict[type, Callable[[object], Decimal]] = {
    Amount: _amount,
    SignedAmount: _signed,
    Price: _price,
    Haircut: _haircut,
    Rate: _rate,
    Leverage: _leverage,
    InstrumentNumber: instrument_number,
}


def decimal_hook(kind: type, value: object) -> object:
    """msgspec's ``dec_hook``: check ``value`` as the Decimal type ``kind``."""
    if kind is object:  # a field that takes anything (Kraken's instrument fields levpref does not read)
        return value
    check = _CHECKS.get(kind)
    if check is None:
        raise NotImplementedError(kind)
    return kind(check(value))


def plain(value: Decimal) -> Decimal:
    """A checked wire number as a plain ``Decimal`` (what records and the JSON encoder take), digit for digit."""
    return Decimal(value)
