"""The admin API's bodies and answers (SPEC §4), shared by the HTTP edge and the CLI.

Rules:
- A request body is a JSON object of exactly the fields below: ``{"active": "false"}`` or an unknown key is an
  error naming the field, never a guess. An empty body reads as ``{}`` (only the scenario refuses that).
- Answers are Structs too, encoded field by field in the order given here.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from msgspec import Struct

from levpref.adapters.wire.decode import convert, loads_json
from levpref.adapters.wire.numbers import Amount, Haircut, Price, SignedAmount, plain
from levpref.adapters.wire.scenario import Expiry, RateBudget

B = TypeVar("B", bound=Struct)


class MarkBody(Struct, forbid_unknown_fields=True, frozen=True):
    price: Price


class CurrencyBody(Struct, forbid_unknown_fields=True, frozen=True):
    price: Price
    haircut: Haircut = Haircut(0)


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
    deleted: bool = True


class KeyIssued(Struct, frozen=True):
    account: str
    public: str
    secret: str
    access: str


class KeyRevoked(Struct, frozen=True):
    public: str
    revoked: bool = True


class ScenarioKey(Struct, frozen=True):
    account: str
    public: str
    access: str


class ScenarioLoaded(Struct, frozen=True, kw_only=True):
    loaded: bool = True
    keys: list[ScenarioKey]


class InstrumentsLoaded(Struct, frozen=True):
    loaded: int


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
