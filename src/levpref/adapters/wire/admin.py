"""The admin API's bodies and answers (SPEC §4), shared by the HTTP edge and the CLI.

Rules:
- A request body is a JSON object of exactly the fields below: ``{"active": "false"}`` or an unknown key is an
  error naming the field, never a guess. An empty body reads as ``{}`` (only the scenario refuses that).
- Answers are Structs too, encoded field by field in the order given here (the order the golden test records);
  a field that is ``null`` on the wire is a ``None`` field, one that is left out when empty lives in an
  ``omit_defaults`` Struct. Money and numbers are the Kraken wire's ``Money``/``Number`` (``msgspec.Raw`` in plain
  notation), leverages ``Leverage`` (two decimals).
- These Structs are the source of the admin part of the OpenAPI document (``adapters/http/openapi.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from levpref.adapters.wire.decode import convert, loads_json
from levpref.adapters.wire.kraken import FlexAccount, Leverage, Money, Number
from levpref.adapters.wire.numbers import Amount, Haircut, Price, SignedAmount, plain
from levpref.adapters.wire.scenario import Expiry, RateBudget

B = TypeVar("B", bound=Struct)
TRUE = Annotated[bool, Meta(extra_json_schema={"const": True})]


class MarkBody(Struct, forbid_unknown_fields=True, frozen=True):
    price: Price


class CurrencyBody(Struct, forbid_unknown_fields=True, frozen=True):
    price: Price
    haircut: Haircut = msgspec.field(default_factory=lambda: Haircut(0))  # a factory: the schema shows no default


class AccountBody(Struct, forbid_unknown_fields=True, frozen=True):
    active: bool = True


class CollateralBody(Struct, forbid_unknown_fields=True, frozen=True):
    quantity: Amount


class PositionBody(Struct, forbid_unknown_fields=True, frozen=True):
    size: SignedAmount
    entry_price: Price


class KeyBody(Struct, forbid_unknown_fields=True, frozen=True):
    access: Literal["full", "read"] = "full"
    rate_budget: RateBudget = 500
    expires_ms: Expiry | None = None


def body(data: bytes, kind: type[B]) -> B:
    """The typed body of an admin request (``InvalidInput`` naming the field at fault)."""
    return convert(loads_json(data) if data.strip() else {}, kind)


def fields(kind: type[B], **given: object) -> B:
    """The same typed value from named arguments (the CLI's), refused with the same sentences."""
    return convert({name: value for name, value in given.items() if value is not None}, kind)


class MarkSet(Struct, frozen=True):
    symbol: str
    price: str


class CurrencySet(Struct, frozen=True):
    currency: str


class AccountSet(Struct, frozen=True):
    account: str
    active: bool


class CollateralSet(Struct, frozen=True):
    account: str
    currency: str


class PositionSet(Struct, frozen=True):
    account: str
    symbol: str
    allocated_margin: str | None


class PositionDeleted(Struct, frozen=True):
    account: str
    symbol: str
    deleted: TRUE = True


class KeyIssued(Struct, frozen=True):
    account: str
    public: str
    secret: str
    access: str


class KeyRevoked(Struct, frozen=True):
    public: str
    revoked: TRUE = True


class ScenarioKey(Struct, frozen=True):
    account: str
    public: str
    access: str


class ScenarioLoaded(Struct, frozen=True, kw_only=True):
    loaded: TRUE = True
    keys: list[ScenarioKey]


class InstrumentsLoaded(Struct, frozen=True):
    loaded: int


class AdminErrorBody(Struct, frozen=True):
    """An admin API refusal: the kind of error and a fixed, non-secret explanation."""

    error: str
    detail: str


# --- accounts -------------------------------------------------------------------------------------------------


class AccountPreference(Struct, frozen=True):
    symbol: str
    max_leverage: str | None  # plain text as stored (``"10.50"``), null in cross mode
    pnl_currency: str


class AccountView(Struct, frozen=True):
    """``GET /admin/v1/accounts/{id}`` and ``levpref accounts show``: the flex summary and the preferences."""

    account: str
    flex: FlexAccount
    preferences: list[AccountPreference]


class AccountEntry(Struct, frozen=True):
    id: str
    active: bool


class AccountsCursor(Struct, frozen=True):
    after: str


class AccountsPage(Struct, frozen=True):
    """Accounts in id order; ``next`` is the ``after`` of the following page, null on the last."""

    accounts: list[AccountEntry]
    next: AccountsCursor | None


class CrossPoolFigures(Struct, frozen=True, kw_only=True):
    equity: Money
    initial_margin: Money
    maintenance_margin: Money
    available: Money


class IsolatedPoolFigures(Struct, frozen=True, kw_only=True):
    symbol: str
    allocated_margin: Money
    equity: Money
    initial_margin: Money
    maintenance_margin: Money
    available: Money
    liquidation_price: Money | None


class PoolPosition(Struct, frozen=True, kw_only=True):
    symbol: str
    size: Number
    entry_price: Number
    mark_price: Number
    notional: Money
    unrealized_pnl: Money
    margin_mode: Literal["cross", "isolated"]
    max_leverage: Leverage | None  # isolated positions only
    liquidation_price: Money | None


class PoolPreference(Struct, frozen=True):
    symbol: str
    max_leverage: Leverage | None
    pnl_currency: str


class PoolKey(Struct, frozen=True):
    public: str
    access: str
    revoked: bool


class AccountPools(Struct, frozen=True, kw_only=True):
    """``GET /admin/v1/accounts/{id}/pools``: every pool, figures rounded as ``/accounts`` rounds them."""

    account: str
    active: bool
    cross: CrossPoolFigures
    isolated: list[IsolatedPoolFigures]
    positions: list[PoolPosition]
    preferences: list[PoolPreference]
    keys: list[PoolKey]


# --- the audit trail ------------------------------------------------------------------------------------------


class AuditEntry(Struct, frozen=True, kw_only=True):
    id: int
    account: str
    at: str
    actor: str
    action: str
    symbol: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    margin_moved: str | None
    request_id: str | None


class AuditCursor(Struct, frozen=True, omit_defaults=True):
    """The parameter to send for the following page: exactly one of the two (``AuditPage.next``)."""

    before_id: int | None = None
    after_id: int | None = None


class AuditPage(Struct, frozen=True):
    """A page of the audit trail; ``next`` is where the following page starts, null on the last."""

    audit: list[AuditEntry]
    next: AuditCursor | None


# --- the exported world (GET /admin/v1/scenario) --------------------------------------------------------------


class ExportedCurrency(Struct, frozen=True):
    price: str
    haircut: str


class ExportedKey(Struct, frozen=True, omit_defaults=True):
    public: str
    access: str
    rate_budget: int
    secret: str | None = None  # only with ?secrets=true
    expires_ms: int | None = None
    revoked: bool = False


class ExportedPosition(Struct, frozen=True, omit_defaults=True):
    symbol: str
    size: str
    entry_price: str
    fill_time: str
    allocated_margin: str | None = None  # isolated positions only


class ExportedPreference(Struct, frozen=True, omit_defaults=True):
    symbol: str
    max_leverage: str | None = None  # isolated only
    pnl_currency: str | None = None


class ExportedAccount(Struct, frozen=True):
    id: str
    active: bool
    collateral: dict[str, str]
    keys: list[ExportedKey]
    positions: list[ExportedPosition]
    preferences: list[ExportedPreference]


class ExportedScenario(Struct, frozen=True):
    """The world in scenario form (SPEC §4): what ``PUT /admin/v1/scenario`` loads again; amounts as plain text."""

    instruments: list[dict[str, Any]]  # Kraken's Instrument schema, as loaded
    collateral_currencies: dict[str, ExportedCurrency]
    marks: dict[str, str]
    accounts: list[ExportedAccount]


# --- operations -----------------------------------------------------------------------------------------------


class Health(Struct, frozen=True):
    status: Literal["ok"] = "ok"


class Ready(Struct, frozen=True):
    status: Literal["ready"] = "ready"


class Unavailable(Struct, frozen=True):
    status: Literal["unavailable"] = "unavailable"


__all__ = [
    "AccountBody",
    "CollateralBody",
    "CurrencyBody",
    "KeyBody",
    "MarkBody",
    "PositionBody",
    "body",
    "fields",
    "plain",
]
