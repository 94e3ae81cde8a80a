"""Scenarios: a whole world in one go (SPEC §4), as typed values the edges decoded from TOML or JSON.

Rules:
- The edges (admin API, CLI) decode and type-check a document; ``check_scenario`` then checks what only the whole
  world can tell (a collateral currency that is listed, a contract that is multi-collateral, a max leverage within
  the cap of §3.3, the USD price of 1, no id or key given twice) before anything is written. Refusals name the
  field as the document does (``accounts[0].collateral.XYZ``).
- Keys given are used as is (deterministic tests); a key without ``public``/``secret`` is generated at load.
- An isolated position without ``allocated_margin`` gets ``N / L`` at the mark when loaded.
- Export produces the same structure, so ``export → load`` reproduces the state exactly (the audit log aside).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal

from levpref.domain.margin import allocation_for
from levpref.domain.preferences import CROSS, Isolated, MarginMode
from levpref.errors import InvalidInput
from levpref.service.records import Access, InstrumentRecord

DEFAULT_RATE_BUDGET = 500
USD = "USD"


@dataclass(frozen=True, slots=True)
class KeySpec:
    public: str | None
    secret: str | None  # base64
    access: Access
    rate_budget: int = DEFAULT_RATE_BUDGET
    expires_ms: int | None = None
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class PositionSpec:
    symbol: str
    size: Decimal
    entry_price: Decimal
    fill_time: str
    allocated_margin: Decimal | None


@dataclass(frozen=True, slots=True)
class PreferenceSpec:
    symbol: str
    mode: MarginMode
    pnl_currency: str | None


@dataclass(frozen=True, slots=True)
class AccountSpec:
    id: str
    active: bool
    collateral: dict[str, Decimal]
    keys: list[KeySpec]
    positions: list[PositionSpec]
    preferences: list[PreferenceSpec]


@dataclass(frozen=True, slots=True)
class Scenario:
    instruments: list[InstrumentRecord] = field(default_factory=list)
    currencies: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # price in USD, haircut
    marks: dict[str, Decimal] = field(default_factory=dict)
    accounts: list[AccountSpec] = field(default_factory=list)
    reset_nonces: bool = False


def check_usd_price(currency: str, price: Decimal, where: str) -> None:
    """USD is the unit of account: its price is exactly 1."""
    if currency == USD and price != 1:
        raise InvalidInput(f"{where}: the price of USD must be 1")


def check_scenario(scenario: Scenario) -> Scenario:
    """The scenario with its allocations filled in, or ``InvalidInput`` naming the first field at fault."""
    for currency, (price, _) in scenario.currencies.items():
        check_usd_price(currency, price, f"collateral_currencies.{currency}.price")
    instruments = {record.instrument.symbol: record for record in scenario.instruments}
    seen: set[str] = set()
    publics: set[str] = set()
    accounts = []
    for index, account in enumerate(scenario.accounts):
        where = f"accounts[{index}]"
        if account.id in seen:
            raise InvalidInput(f"{where}.id: account {account.id} is listed twice")
        seen.add(account.id)
        for k, key in enumerate(account.keys):
            _check_key(key, f"{where}.keys[{k}]", publics)
        for currency in account.collateral:
            if currency not in scenario.currencies:
                raise InvalidInput(f"{where}.collateral.{currency}: not a collateral currency")
        accounts.append(_checked_account(account, where, instruments, scenario.marks))
    return replace(scenario, accounts=accounts)


def _check_key(key: KeySpec, where: str, publics: set[str]) -> None:
    if (key.public is None) != (key.secret is None):
        missing = "secret" if key.secret is None else "public"
        raise InvalidInput(
            f"{where}.{missing}: give public and secret together, or neither to have them generated"
            " (an export leaves secrets out unless asked: ?secrets=true, --with-secrets)"
        )
    if key.secret is not None:
        try:
            base64.b64decode(key.secret, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"{where}.secret: expected a secret in base64") from None
    if key.public is not None:
        if key.public in publics:
            raise InvalidInput(f"{where}.public: an API key is listed twice")
        publics.add(key.public)


def _multi(symbol: str, instruments: dict[str, InstrumentRecord], where: str) -> InstrumentRecord:
    record = instruments.get(symbol)
    if record is None or not record.instrument.is_multi_collateral:
        raise InvalidInput(f"{where}: {symbol} is not a listed flexible_futures instrument")
    return record


def _checked_account(
    account: AccountSpec, where: str, instruments: dict[str, InstrumentRecord], marks: dict[str, Decimal]
) -> AccountSpec:
    modes: dict[str, MarginMode] = {}
    for index, pref in enumerate(account.preferences):
        _multi(pref.symbol, instruments, f"{where}.preferences[{index}].symbol")
        modes[pref.symbol] = pref.mode
    positions = []
    notional: dict[str, Decimal] = {}
    for index, p in enumerate(account.positions):
        at = f"{where}.positions[{index}]"
        record = _multi(p.symbol, instruments, f"{at}.symbol")
        mode = modes.get(p.symbol, CROSS)
        if p.allocated_margin is not None and not isinstance(mode, Isolated):
            raise InvalidInput(f"{at}.allocated_margin: needs an isolated preference (a max_leverage) for {p.symbol}")
        notional[p.symbol] = abs(p.size) * record.instrument.contract_size * marks.get(p.symbol, p.entry_price)
        margin = p.allocated_margin
        if margin is None and isinstance(mode, Isolated):
            margin = allocation_for(notional[p.symbol], mode.leverage)
        positions.append(replace(p, allocated_margin=margin))
    for index, pref in enumerate(account.preferences):
        _check_cap(
            pref, instruments[pref.symbol], notional.get(pref.symbol, Decimal(0)), f"{where}.preferences[{index}]"
        )
    preferences = [
        replace(p, pnl_currency=None if p.pnl_currency == "USD" else p.pnl_currency) for p in account.preferences
    ]
    return replace(account, positions=positions, preferences=preferences)


def _check_cap(pref: PreferenceSpec, record: InstrumentRecord, notional: Decimal, where: str) -> None:
    """SPEC §3.3 at load time: a max leverage within the cap of the schedule at the position's notional."""
    schedule = record.instrument.schedule
    if (
        not isinstance(pref.mode, Isolated)
        or schedule is None
        or schedule.allows_leverage(pref.mode.leverage, notional)
    ):
        return
    cap = format(schedule.leverage_cap(notional).quantize(Decimal("0.01"), rounding=ROUND_DOWN), "f")
    raise InvalidInput(f"{where}.max_leverage: above the leverage cap of {cap}")
