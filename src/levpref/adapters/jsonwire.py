"""JSON in and out without floats: numbers decode to Decimal and Decimals encode as JSON numbers."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)
_EIGHT = Decimal("1e-8")


def dumps(value: Any) -> bytes:
    return _encoder.encode(value)


def loads(data: bytes | str) -> Any:
    """Decode JSON (numbers as Decimal); raises ``ValueError`` on malformed input."""
    try:
        return _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from None


def number(value: Decimal) -> msgspec.Raw:
    """A JSON number in plain notation, digits exactly as held (``0.00000001``, never ``1E-8``; never ``-0``)."""
    if value.is_zero():
        value = value.copy_abs()
    return msgspec.Raw(format(value, "f").encode("ascii"))


def money(value: Decimal) -> msgspec.Raw:
    """A USD amount for the wire: at most 8 decimals, plain notation (``30003.00030003``, ``0``, ``10000``)."""
    with localcontext() as ctx:
        ctx.prec = 60  # the default 28 digits cannot quantize amounts of 1e20 and more to 1e-8
        q = value.quantize(_EIGHT, rounding=ROUND_HALF_EVEN).normalize()
    return number(q)
