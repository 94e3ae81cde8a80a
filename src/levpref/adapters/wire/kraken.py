"""The Kraken-compatible wire (SPEC §1, §6.1): every response body as a msgspec Struct, in Kraken's camelCase.

Rules:
- Fields are encoded in the order written here, which is the order Kraken (and the golden test) expects.
- Money is ``Money``: a JSON number in plain notation with at most 8 decimals (``money``), never ``1E-8``;
  quantities and prices as held are ``Number``; leverages are ``Leverage``, a number with two decimals (``10.00``).
- A success body never has an ``error`` key (python-kraken-sdk crashes on ``"error": null``).
- These Structs are also the source of the OpenAPI document's schemas (``adapters/http/openapi.py``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Raw, Struct

from levpref.adapters.jsonwire import money, number

# SPEC §1.1: the generic error strings of shape A (Kraken's list; levpref raises some of them).
GENERIC_ERRORS = [
    "accountInactive",
    "apiLimitExceeded",
    "authenticationError",
    "insufficientFunds",
    "invalidAccount",
    "invalidAmount",
    "invalidArgument",
    "invalidUnit",
    "Json Parse Error",
    "marketUnavailable",
    "nonceBelowThreshold",
    "nonceDuplicate",
    "notFound",
    "requiredArgumentMissing",
    "Server Error",
    "Unavailable",
    "unknownError",
]
SERVER_TIME_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"
ServerTime = Annotated[str, Meta(pattern=SERVER_TIME_PATTERN, examples=["2022-06-28T14:48:58.711Z"])]
Money = Annotated[Raw, Meta(extra_json_schema={"type": "number", "description": "USD, at most 8 decimals"})]
Number = Annotated[Raw, Meta(extra_json_schema={"type": "number"})]
Leverage = Annotated[Decimal, Meta(extra_json_schema={"type": "number", "description": "two decimals (10.00)"})]
_TWO = Decimal("0.01")


def leverage(value: Decimal) -> Decimal:
    return value.quantize(_TWO)


def optional_money(value: Decimal | None) -> Raw | None:
    return None if value is None else money(value)


class Success(Struct, kw_only=True):
    """The success envelope: ``result`` and ``serverTime`` first, then the payload."""

    result: Literal["success"] = "success"
    serverTime: ServerTime


class Accepted(Success, kw_only=True):
    """PUT /leveragepreferences and /pnlpreferences: the envelope alone."""


class LeveragePreference(Struct):
    symbol: str
    maxLeverage: Leverage


class LeveragePreferences(Success, kw_only=True):
    leveragePreferences: list[LeveragePreference]


class PnlPreference(Struct):
    symbol: str
    pnlCurrency: str


class PnlPreferences(Success, kw_only=True):
    preferences: list[PnlPreference]


class Instruments(Success, kw_only=True):
    instruments: list[dict[str, Any]]  # Kraken's Instrument schema, as loaded (SPEC §1.5)


class FlexCurrency(Struct):
    quantity: Number
    value: Money
    collateral: Money
    available: Money


class FlexAccount(Struct, kw_only=True):
    type: Literal["multiCollateralMarginAccount"] = "multiCollateralMarginAccount"
    currencies: dict[str, FlexCurrency]
    initialMargin: Money
    initialMarginWithOrders: Money
    maintenanceMargin: Money
    balanceValue: Money
    portfolioValue: Money
    collateralValue: Money
    pnl: Money
    unrealizedFunding: Number
    totalUnrealized: Money
    totalUnrealizedAsMargin: Money
    availableMargin: Money
    marginEquity: Money


class CashAccount(Struct):
    type: Literal["cashAccount"] = "cashAccount"
    balances: dict[str, Number] = msgspec.field(default_factory=dict)


class AccountsPayload(Struct):
    cash: CashAccount
    flex: FlexAccount


class Accounts(Success, kw_only=True):
    accounts: AccountsPayload


class OpenPosition(Struct, kw_only=True, omit_defaults=True):
    side: Literal["long", "short"]
    symbol: str
    price: Number
    fillTime: str
    size: Number
    unrealizedFunding: Number
    pnlCurrency: str
    maxFixedLeverage: Leverage | None = None  # isolated positions only (ccxt derives marginMode from it)


class OpenPositions(Success, kw_only=True):
    openPositions: list[OpenPosition]


# --- the what-if preview (SPEC §6.1) ------------------------------------------------------------------------------


class PreviewPool(Struct, kw_only=True, omit_defaults=True):
    equity: Money
    initialMargin: Money
    maintenanceMargin: Money
    availableMargin: Money
    allocatedMargin: Money | None = None  # isolated pools only


class PreviewPools(Struct):
    cross: PreviewPool | None
    isolated: PreviewPool | None


class BeforeAfterMode(Struct):
    before: Literal["cross", "isolated"]
    after: Literal["cross", "isolated"]


class BeforeAfterLeverage(Struct):
    before: Leverage | None
    after: Leverage | None


class BeforeAfterMoney(Struct):
    before: Money | None
    after: Money | None


class Refusal(Struct, omit_defaults=True):
    """The error a PUT would answer: ``{"code", "message"}`` as in shape B, or ``{"error"}`` as in shape A."""

    code: int | None = None
    message: str | None = None
    error: str | None = None


class PreviewBody(Struct, kw_only=True):
    symbol: str | None
    outcome: Literal["accepted", "unchanged", "refused"]
    error: Refusal | None
    rule: str
    failedPool: str | None
    marginMode: BeforeAfterMode | None
    maxLeverage: BeforeAfterLeverage
    before: PreviewPools | None
    after: PreviewPools | None
    allocatedMargin: BeforeAfterMoney
    marginMoved: Money | None
    liquidationPrice: BeforeAfterMoney


class PreviewAnswer(Struct):
    """The payload of the preview (also the admin API's ``/accounts/{id}/preview`` answer)."""

    preview: PreviewBody


class Preview(Success, kw_only=True):
    preview: PreviewBody


# --- errors (SPEC §1.1) -------------------------------------------------------------------------------------------


class GenericError(Struct, kw_only=True):
    """Shape A: HTTP 200 with one Kraken error string."""

    result: Literal["error"] = "error"
    serverTime: ServerTime
    error: str


class ErrorItem(Struct):
    code: int
    message: str


class NumberedError(Struct, kw_only=True):
    """Shape B: a business refusal (HTTP 500), or a routing error (404, 405, 413, … with code 0)."""

    status: str
    result: Literal["error"] = "error"
    errors: list[ErrorItem]
    serverTime: ServerTime


SUCCESS_TYPES: tuple[type[Success], ...] = (
    Accepted,
    LeveragePreferences,
    PnlPreferences,
    Instruments,
    Accounts,
    OpenPositions,
    Preview,
)
ANSWER_TYPES: tuple[type[Struct], ...] = (PreviewAnswer,)  # bodies of the admin API made of Kraken parts
ERROR_TYPES: tuple[type[Struct], ...] = (GenericError, NumberedError)

__all__ = [
    "ERROR_TYPES",
    "GENERIC_ERRORS",
    "SUCCESS_TYPES",
    "Accepted",
    "Accounts",
    "GenericError",
    "Instruments",
    "LeveragePreferences",
    "NumberedError",
    "OpenPositions",
    "PnlPreferences",
    "Preview",
    "PreviewAnswer",
    "leverage",
    "money",
    "number",
    "optional_money",
]
