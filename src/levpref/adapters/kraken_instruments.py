"""Kraken's ``Instrument`` schema, translated to and from the domain in one place (SPEC §1.5).

Rules:
- Input may be Kraken's camelCase (a saved GET /instruments response) or snake_case (scenario files); numbers
  may be JSON numbers or strings; both are read as Decimal.
- The stored and served form is camelCase with Kraken's fields filled in where the input left them out.
- A ``flexible_futures`` instrument's ``marginLevels`` bounds are ``numNonContractUnits`` (USD notional).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from levpref.adapters.wire.decode import convert
from levpref.adapters.wire.numbers import InstrumentNumber, Rate, instrument_number
from levpref.domain.instruments import MULTI_COLLATERAL_TYPE, Instrument
from levpref.domain.schedule import MarginLevel, MarginSchedule
from levpref.errors import InvalidInput
from levpref.service.records import InstrumentRecord

_SNAKE = re.compile(r"_([a-z])")
_NUMERIC = {
    "tickSize",
    "contractSize",
    "contractValueTradePrecision",
    "impactMidSize",
    "maxPositionSize",
    "fundingRateCoefficient",
    "maxRelativeFundingRate",
    "numNonContractUnits",
    "contracts",
    "initialMargin",
    "maintenanceMargin",
}


class _Level(Struct, frozen=True):
    initialMargin: Rate
    maintenanceMargin: Rate
    numNonContractUnits: InstrumentNumber | UnsetType = UNSET
    contracts: InstrumentNumber | UnsetType = UNSET


class _Known(Struct, frozen=True):
    """The fields levpref reads of an instrument (Kraken's others are kept as they came)."""

    symbol: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    type: Annotated[str, Meta(min_length=1, max_length=64)]
    tradeable: bool = True
    marginLevels: list[_Level] | None = None
    retailMarginLevels: list[_Level] | None = None


def camel(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def _normalise(value: Any, path: str, key: str = "") -> Any:
    """camelCase keys, and the numeric fields as exact Decimals (``InvalidInput`` naming the field)."""
    if isinstance(value, dict):
        return {camel(k): _normalise(v, f"{path}.{camel(k)}", camel(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, f"{path}[{i}]", key) for i, v in enumerate(value)]
    if key in _NUMERIC or not isinstance(value, (str, int, bool, Decimal, type(None))):
        try:
            return instrument_number(value)
        except ValueError as exc:
            raise InvalidInput(f"{path}: {exc}") from None
    return value


def _pair(symbol: str) -> tuple[str, str]:
    body = symbol.split("_", 1)[1] if "_" in symbol else symbol
    body = body.split("_", 1)[0]
    return (body[:-3], body[-3:]) if len(body) > 3 else (body, "USD")


def canonical_instrument(raw: dict[str, Any], where: str = "instrument") -> dict[str, Any]:
    """Kraken's camelCase form of an instrument, with defaults for what the input left out."""
    data = _normalise(raw, where)
    convert(data, _Known, where)
    symbol = data["symbol"]
    base, quote = _pair(symbol)
    levels = data.get("marginLevels") or []
    defaults: dict[str, Any] = {
        "tradeable": True,
        "pair": f"{base}:{quote}",
        "base": base,
        "quote": quote,
        "tickSize": Decimal("0.5"),
        "contractSize": Decimal(1),
        "contractValueTradePrecision": Decimal(4),
        "impactMidSize": Decimal(1),
        "maxPositionSize": Decimal(1000000),
        "openingDate": "2022-01-01T00:00:00.000Z",
        "marginLevels": levels,
        "retailMarginLevels": levels,
        "fundingRateCoefficient": Decimal(8),
        "maxRelativeFundingRate": Decimal("0.001"),
        "postOnly": False,
        "category": "",
        "tags": [],
        "tradfi": False,
        "mtf": False,
    }
    canonical = {"symbol": symbol, "type": data["type"], **defaults, **data}
    instrument_from_wire(canonical, where)  # validates
    return canonical


def instrument_records(listed: list[dict[str, Any]], where: str) -> list[InstrumentRecord]:
    """Each instrument in canonical form with its domain value; a symbol given twice keeps its last entry."""
    by_symbol: dict[str, InstrumentRecord] = {}
    for index, raw in enumerate(listed):
        canonical = canonical_instrument(raw, f"{where}[{index}]")
        by_symbol[canonical["symbol"]] = InstrumentRecord(instrument_from_wire(canonical), canonical)
    return list(by_symbol.values())


def instrument_from_wire(data: dict[str, Any], where: str = "instrument") -> Instrument:
    """The domain instrument of a canonical (camelCase, Decimal) instrument."""
    symbol = str(data["symbol"])
    kind = str(data["type"])
    try:
        contract_size = Decimal(str(data.get("contractSize", 1)))
        schedule = _schedule(data.get("marginLevels") or []) if kind == MULTI_COLLATERAL_TYPE else None
    except (InvalidOperation, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{where}.marginLevels: {_reason(exc)}") from None
    if contract_size <= 0:
        raise InvalidInput(f"{where}.contractSize: expected a decimal number > 0")
    return Instrument(symbol, kind, bool(data.get("tradeable", True)), contract_size, schedule)


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"each tier of a flexible_futures contract needs {exc.args[0]} (a USD notional bound)"
    return str(exc) or "expected a margin schedule"


def _schedule(levels: list[dict[str, Any]]) -> MarginSchedule:
    return MarginSchedule.of(
        MarginLevel(
            Decimal(str(level["numNonContractUnits"])),
            Decimal(str(level["initialMargin"])),
            Decimal(str(level["maintenanceMargin"])),
        )
        for level in levels
    )
