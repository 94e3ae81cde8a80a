"""The scenario document (SPEC §4): TOML or JSON, one set of Structs, translated to the service's ``Scenario``.

Rules:
- Every field is typed; unknown keys are refused (instruments aside: Kraken's schema has many more fields than
  levpref reads, and a saved ``GET /instruments`` response must load, so an instrument keeps the fields it brings).
- A document must name at least one of the world's keys: ``{}`` is a mistake, an empty world is asked for with
  explicit empty lists.
- ``instruments_file`` (files only) names a saved Kraken ``GET /instruments`` response beside the scenario file.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from levpref.adapters.kraken_instruments import instrument_records
from levpref.adapters.wire.decode import PATTERNS, convert, loads_json, loads_toml
from levpref.adapters.wire.numbers import Amount, Haircut, Leverage, Price, SignedAmount, plain
from levpref.domain.preferences import margin_mode
from levpref.errors import InvalidInput
from levpref.service.records import InstrumentRecord
from levpref.service.scenario import AccountSpec, KeySpec, PositionSpec, PreferenceSpec, Scenario

ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
CURRENCY_PATTERN = r"^[A-Za-z0-9]{2,10}$"
PUBLIC_PATTERN = r"^[A-Za-z0-9+/=_.-]{1,128}$"
SECRET_PATTERN = r"^[A-Za-z0-9+/]{4,340}={0,2}$"  # noqa: S105 - a pattern, not a secret
TIME_PATTERN = r"^[0-9T:.Z+-]{1,40}$"
PATTERNS.update(
    {
        ID_PATTERN: "an id: 1 to 64 of A-Z a-z 0-9 _ . -",
        CURRENCY_PATTERN: "a currency code: 2 to 10 letters or digits",
        PUBLIC_PATTERN: "a public key: 1 to 128 of A-Z a-z 0-9 + / = _ . -",
        SECRET_PATTERN: "a secret in base64",
        TIME_PATTERN: "a time like 2026-01-01T00:00:00.000Z",
    }
)
Id = Annotated[str, Meta(pattern=ID_PATTERN)]
Currency = Annotated[str, Meta(pattern=CURRENCY_PATTERN)]
PublicKey = Annotated[str, Meta(pattern=PUBLIC_PATTERN)]
Secret = Annotated[str, Meta(pattern=SECRET_PATTERN)]
RateBudget = Annotated[int, Meta(ge=1, le=10**9)]
Expiry = Annotated[int, Meta(ge=0, le=2**63 - 1)]
FILL_TIME = "2026-01-01T00:00:00.000Z"


class KeyDoc(Struct, forbid_unknown_fields=True, frozen=True):
    public: PublicKey | None = None
    secret: Secret | None = None
    access: Literal["full", "read"] = "full"
    rate_budget: RateBudget = 500
    expires_ms: Expiry | None = None
    revoked: bool = False


class PositionDoc(Struct, forbid_unknown_fields=True, frozen=True):
    symbol: Id
    size: SignedAmount
    entry_price: Price
    fill_time: Annotated[str, Meta(pattern=TIME_PATTERN)] = FILL_TIME
    allocated_margin: Amount | None = None


class PreferenceDoc(Struct, forbid_unknown_fields=True, frozen=True):
    symbol: Id
    max_leverage: Leverage | None = None
    pnl_currency: Currency | None = None


class AccountDoc(Struct, forbid_unknown_fields=True, frozen=True):
    id: Id
    active: bool = True
    collateral: dict[Currency, Amount] = {}
    keys: list[KeyDoc] = []
    positions: list[PositionDoc] = []
    preferences: list[PreferenceDoc] = []


class CurrencyDoc(Struct, forbid_unknown_fields=True, frozen=True):
    price: Price
    haircut: Haircut = msgspec.field(default_factory=lambda: Haircut(0))  # a factory: the schema shows no default


class ScenarioDoc(Struct, forbid_unknown_fields=True, frozen=True):
    instruments: list[dict[str, object]] | UnsetType = UNSET
    collateral_currencies: dict[Currency, CurrencyDoc] | UnsetType = UNSET
    marks: dict[Id, Price] | UnsetType = UNSET
    accounts: list[AccountDoc] | UnsetType = UNSET
    reset_nonces: bool = False  # SPEC §2.2: a load keeps the nonce window of every unchanged key unless asked


_WORLD_KEYS = "instruments, collateral_currencies, marks or accounts"


def decode_scenario(value: object) -> Scenario:
    """The typed scenario of a decoded document (``InvalidInput`` naming the first field at fault)."""
    if isinstance(value, dict) and "instruments_file" in value:
        raise InvalidInput("instruments_file: only a scenario file may name one")
    doc = convert(value, ScenarioDoc)
    if all(part is UNSET for part in (doc.instruments, doc.collateral_currencies, doc.marks, doc.accounts)):
        raise InvalidInput(f"body: expected at least one of {_WORLD_KEYS} (an empty world: give them empty)")
    listed = [] if isinstance(doc.instruments, UnsetType) else doc.instruments
    currencies = {} if isinstance(doc.collateral_currencies, UnsetType) else doc.collateral_currencies
    return Scenario(
        instruments=instrument_records(listed, "instruments"),
        currencies={code: (plain(spec.price), plain(spec.haircut)) for code, spec in currencies.items()},
        marks={} if isinstance(doc.marks, UnsetType) else {s: plain(p) for s, p in doc.marks.items()},
        accounts=[_account(a) for a in ([] if isinstance(doc.accounts, UnsetType) else doc.accounts)],
        reset_nonces=doc.reset_nonces,
    )


def _account(doc: AccountDoc) -> AccountSpec:
    return AccountSpec(
        id=doc.id,
        active=doc.active,
        collateral={currency: plain(quantity) for currency, quantity in doc.collateral.items()},
        keys=[KeySpec(k.public, k.secret, k.access, k.rate_budget, k.expires_ms, k.revoked) for k in doc.keys],
        positions=[
            PositionSpec(p.symbol, plain(p.size), plain(p.entry_price), p.fill_time, _maybe(p.allocated_margin))
            for p in doc.positions
        ],
        preferences=[
            PreferenceSpec(p.symbol, margin_mode(_maybe(p.max_leverage)), p.pnl_currency) for p in doc.preferences
        ],
    )


def _maybe(value: Decimal | None) -> Decimal | None:
    return None if value is None else plain(value)


def decode_scenario_body(body: bytes, content_type: str) -> Scenario:
    """A scenario sent to ``PUT /admin/v1/scenario``: JSON, or TOML with ``Content-Type: application/toml``."""
    if not body.strip():
        raise InvalidInput(f"body: expected a scenario with at least one of {_WORLD_KEYS}")
    if content_type == "application/toml":
        try:
            return decode_scenario(loads_toml(body.decode("utf-8")))
        except UnicodeDecodeError:
            raise InvalidInput("body: not valid UTF-8") from None
    return decode_scenario(loads_json(body))


def read_scenario_file(path: Path) -> Scenario:
    """The scenario of a ``.toml`` or ``.json`` file; its ``instruments_file`` is read from beside it."""
    text = path.read_text(encoding="utf-8")
    data = loads_toml(text) if path.suffix == ".toml" else loads_json(text)
    if isinstance(data, dict) and "instruments_file" in data:
        extra = convert(data.pop("instruments_file"), str, "instruments_file")
        listed = read_instruments_file(path.parent / extra)
        inline = data.get("instruments", [])
        data["instruments"] = [*listed, *(inline if isinstance(inline, list) else [inline])]
    return decode_scenario(data)


def read_instruments_file(path: Path) -> list[object]:
    """The instruments of a saved Kraken ``GET /instruments`` response (or of a bare list)."""
    return instruments_of(loads_json(path.read_bytes()))


class InstrumentsDoc(Struct, forbid_unknown_fields=True, frozen=True):
    """A saved Kraken ``GET /instruments`` response."""

    instruments: list[object]
    result: str | UnsetType = UNSET
    serverTime: str | UnsetType = UNSET


def instruments_of(value: object) -> list[object]:
    """The list of instruments of a Kraken response or of a bare list."""
    if isinstance(value, list):
        return value
    return convert(value, InstrumentsDoc).instruments


def decode_instruments(value: object) -> list[InstrumentRecord]:
    return instrument_records(convert(instruments_of(value), list[dict[str, object]], "instruments"), "instruments")


__all__ = ["decode_instruments", "decode_scenario", "decode_scenario_body", "msgspec", "read_scenario_file"]
