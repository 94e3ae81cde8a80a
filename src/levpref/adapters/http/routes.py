"""The one table of the Kraken-compatible routes (SPEC §1, §6.1): method and path → use case, response type, auth,
rate cost, parameters and the business errors it can answer.

The dispatch (``app.py``: 404 for an unknown path, 405 for a known path and another method), the metrics labels
and the OpenAPI document (``openapi.py``) are all derived from ``KRAKEN_ROUTES``. Adding an endpoint means one row
here, one use case (an ``Endpoint`` of ``service/kraken.py``) and its response Struct (``adapters/wire/kraken.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from levpref.adapters.http import render
from levpref.adapters.wire import kraken as wire
from levpref.errors import (
    BusinessError,
    ContractDoesNotExist,
    ContractNotMultiCollateral,
    CurrencyDoesNotExist,
    CurrencyNotEnabledForMultiCollateral,
    InsufficientMargin,
    WouldCauseLiquidation,
)
from levpref.service.kraken import Endpoint

BASE = "/derivatives/api/v3"

_SYMBOL = {"type": "string", "maxLength": 64, "examples": ["PF_XBTUSD"]}
_MAX_LEVERAGE = {"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,2})?$", "examples": ["10", "2.5"]}
_CURRENCY = {"type": "string", "maxLength": 16, "examples": ["USD", "BTC"]}


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    description: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True, slots=True)
class KrakenRoute:
    """One Kraken route. ``endpoint`` is the private use case (its auth and rate cost); ``None`` for a public one.
    ``present`` turns the use case's result and the request's ``serverTime`` into the response Struct."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    response: type[wire.Success]
    present: Callable[[Any, str], wire.Success]
    endpoint: Endpoint | None = None
    params: tuple[QueryParam, ...] = ()
    business_errors: tuple[type[BusinessError], ...] = ()

    @property
    def label(self) -> str:
        """The metrics label: ``GET leveragepreferences/preview``."""
        return self.endpoint.label if self.endpoint is not None else f"{self.method} {self.path[len(BASE) + 1 :]}"


SYMBOL_REQUIRED = QueryParam(
    "symbol", "The contract; case-sensitive. Missing or empty → requiredArgumentMissing.", _SYMBOL, required=True
)
MAX_LEVERAGE = QueryParam(
    "maxLeverage",
    "Absent → cross; present → isolated at this leverage: a plain decimal ≥ 1 with at most 2 decimals, "
    "within the margin schedule's cap.",
    _MAX_LEVERAGE,
)
_LEVERAGE_ERRORS = (ContractDoesNotExist, ContractNotMultiCollateral, WouldCauseLiquidation, InsufficientMargin)
_PNL_ERRORS = (
    ContractDoesNotExist,
    ContractNotMultiCollateral,
    CurrencyDoesNotExist,
    CurrencyNotEnabledForMultiCollateral,
)

KRAKEN_ROUTES: tuple[KrakenRoute, ...] = (
    KrakenRoute(
        "PUT", f"{BASE}/leveragepreferences", "setLeveragePreference",
        "Set margin mode / max leverage: maxLeverage absent → cross; present → isolated at that leverage.",
        "leverage preferences", wire.Accepted, render.accepted, Endpoint.PUT_LEVERAGE,
        (SYMBOL_REQUIRED, MAX_LEVERAGE), _LEVERAGE_ERRORS,
    ),
    KrakenRoute(
        "GET", f"{BASE}/leveragepreferences", "getLeveragePreferences",
        "List isolated-mode preferences (cross is the default and has no entry), sorted by symbol.",
        "leverage preferences", wire.LeveragePreferences, render.leverage_preferences, Endpoint.GET_LEVERAGE,
        (QueryParam("symbol", "Only this contract.", _SYMBOL),),
    ),
    KrakenRoute(
        "GET", f"{BASE}/leveragepreferences/preview", "previewLeveragePreference",
        "What PUT /leveragepreferences would do with these parameters now (SPEC §6.1): the outcome, the error it "
        "would answer, the rule that decided, the pools before and after, the margin moved and the liquidation "
        "price before and after. Changes nothing.",
        "leverage preferences", wire.Preview, render.preview_response, Endpoint.PREVIEW_LEVERAGE,
        (SYMBOL_REQUIRED, MAX_LEVERAGE),
    ),
    KrakenRoute(
        "PUT", f"{BASE}/pnlpreferences", "setPnlPreference", "Set the PnL settlement currency of a contract.",
        "pnl preferences", wire.Accepted, render.accepted, Endpoint.PUT_PNL,
        (SYMBOL_REQUIRED, QueryParam("pnlPreference", "A currency code, e.g. USD or BTC.", _CURRENCY, required=True)),
        _PNL_ERRORS,
    ),
    KrakenRoute(
        "GET", f"{BASE}/pnlpreferences", "getPnlPreferences", "List PnL currency preferences.",
        "pnl preferences", wire.PnlPreferences, render.pnl_preferences, Endpoint.GET_PNL,
    ),
    KrakenRoute(
        "GET", f"{BASE}/instruments", "getInstruments", "The contract list in Kraken's Instrument schema (public).",
        "market", wire.Instruments, render.instruments,
    ),
    KrakenRoute(
        "GET", f"{BASE}/accounts", "getAccounts", "The multi-collateral (flex) account summary.",
        "account", wire.Accounts, render.accounts, Endpoint.GET_ACCOUNTS,
    ),
    KrakenRoute(
        "GET", f"{BASE}/openpositions", "getOpenPositions",
        "Open positions, newest fill first; isolated ones carry maxFixedLeverage.",
        "account", wire.OpenPositions, render.open_positions, Endpoint.GET_OPEN_POSITIONS,
    ),
)  # fmt: skip

BY_PATH: dict[str, dict[str, KrakenRoute]] = {}
for _route in KRAKEN_ROUTES:
    BY_PATH.setdefault(_route.path, {})[_route.method] = _route

__all__ = ["BASE", "BY_PATH", "KRAKEN_ROUTES", "KrakenRoute", "QueryParam"]
