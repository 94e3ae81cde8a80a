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
from typing import Any

from levpref.domain.instruments import MULTI_COLLATERAL_TYPE, Instrument
from levpref.domain.schedule import MarginLevel, MarginSchedule
from levpref.errors import ScenarioError

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


def camel(key: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def _normalise(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {camel(k): _normalise(v, camel(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, key) for v in value]
    if key in _NUMERIC and isinstance(value, (str, int, float, Decimal)) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ScenarioError(f"instrument field {key} is not a number") from None
        if not number.is_finite():
            raise ScenarioError(f"instrument field {key} is not a finite number")
        return number
    return value


def _pair(symbol: str) -> tuple[str, str]:
    body = symbol.split("_", 1)[1] if "_" in symbol else symbol
    body = body.split("_", 1)[0]
    return (body[:-3], body[-3:]) if len(body) > 3 else (body, "USD")


def canonical_instrument(raw: dict[str, Any]) -> dict[str, Any]:
    """Kraken's camelCase form of an instrument, with defaults for what the input left out."""
    data = _normalise(raw)
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not symbol or len(symbol) > 64:
        raise ScenarioError("an instrument needs a symbol (1 to 64 characters)")
    if not isinstance(data.get("type"), str):
        raise ScenarioError(f"instrument {symbol} needs a type")
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
    instrument_from_wire(canonical)  # validates
    return canonical


def instrument_from_wire(data: dict[str, Any]) -> Instrument:
    """The domain instrument of a canonical (camelCase, Decimal) instrument."""
    symbol = str(data["symbol"])
    kind = str(data["type"])
    try:
        contract_size = Decimal(str(data.get("contractSize", 1)))
        schedule = _schedule(data.get("marginLevels") or []) if kind == MULTI_COLLATERAL_TYPE else None
    except (InvalidOperation, ValueError, KeyError, TypeError) as exc:
        raise ScenarioError(f"instrument {symbol} has a bad margin schedule or contract size: {exc}") from None
    if contract_size <= 0:
        raise ScenarioError(f"instrument {symbol} needs a positive contractSize")
    return Instrument(symbol, kind, bool(data.get("tradeable", True)), contract_size, schedule)


def _schedule(levels: list[dict[str, Any]]) -> MarginSchedule:
    return MarginSchedule.of(
        MarginLevel(
            Decimal(str(level["numNonContractUnits"])),
            Decimal(str(level["initialMargin"])),
            Decimal(str(level["maintenanceMargin"])),
        )
        for level in levels
    )
