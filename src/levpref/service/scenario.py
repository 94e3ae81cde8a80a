"""Scenario files: a whole world in one go (SPEC §4), TOML or JSON with the same structure.

Rules:
- Amounts may be strings or numbers and are always read as Decimal (TOML floats are parsed as Decimal).
- The whole file is validated before anything is written; loading replaces the world in one transaction.
- Keys given are used as is (deterministic tests); a key entry without ``public``/``secret`` gets generated ones.
- An isolated position without ``allocated_margin`` gets ``N / L`` at the mark when loaded.
- Export produces the same structure, so ``export → load`` reproduces the state exactly (the audit log aside).
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from levpref.adapters import jsonwire
from levpref.adapters.kraken_instruments import canonical_instrument
from levpref.adapters.secretbox import new_key_pair
from levpref.domain.margin import allocation_for
from levpref.errors import ScenarioError

ACCESS_LEVELS = ("full", "read")
DEFAULT_RATE_BUDGET = 500


MAX_AMOUNT = Decimal("1e12")  # far above any real balance, price or size; keeps every margin product computable


def amount(value: Any, what: str, *, positive: bool = False, allow_negative: bool = False) -> Decimal:
    """A finite Decimal from a string or number, or a ``ScenarioError`` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ScenarioError(f"{what} must be a decimal number (string or number)")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ScenarioError(f"{what} must be a decimal number, got {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise ScenarioError(f"{what} must be finite")
    if number.copy_abs() >= MAX_AMOUNT:  # copy_abs: abs() would round, and overflow on 1e999999999
        raise ScenarioError(f"{what} must be less than 1e12 in magnitude")
    if positive and number <= 0:
        raise ScenarioError(f"{what} must be greater than 0")
    if not allow_negative and number < 0:
        raise ScenarioError(f"{what} must not be negative")
    return number


@dataclass
class KeySpec:
    public: str
    secret: str
    access: str
    rate_budget: int
    expires_ms: int | None = None
    revoked: bool = False


@dataclass
class PositionSpec:
    symbol: str
    size: Decimal
    entry_price: Decimal
    fill_time: str
    allocated_margin: Decimal | None


@dataclass
class PreferenceSpec:
    symbol: str
    max_leverage: Decimal | None
    pnl_currency: str | None


@dataclass
class AccountSpec:
    id: str
    active: bool
    collateral: dict[str, Decimal]
    keys: list[KeySpec]
    positions: list[PositionSpec]
    preferences: list[PreferenceSpec]


@dataclass
class Scenario:
    instruments: list[dict[str, Any]] = field(default_factory=list)
    currencies: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    accounts: list[AccountSpec] = field(default_factory=list)


def read_scenario_file(path: Path) -> dict[str, Any]:
    """The raw structure of a ``.toml`` or ``.json`` scenario; ``instruments_file`` is resolved beside it."""
    text = path.read_text(encoding="utf-8")
    try:
        data: Any = tomllib.loads(text, parse_float=Decimal) if path.suffix == ".toml" else jsonwire.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ScenarioError(f"{path.name} is not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is a table/object at the top level")
    extra = data.get("instruments_file")
    if isinstance(extra, str):
        loaded = jsonwire.loads((path.parent / extra).read_bytes())
        listed = loaded.get("instruments", loaded) if isinstance(loaded, dict) else loaded
        data = {**data, "instruments": [*list(listed), *list(data.get("instruments", []))]}
        del data["instruments_file"]
    return dict(data)


def valid_expiry(value: Any) -> bool:
    """An ``expires_ms`` the stores can hold: an integer from 0 to 2**63 - 1 (a 64-bit SQL integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _str(value: Any, what: str, max_len: int = 64) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ScenarioError(f"{what} must be a non-empty string of at most {max_len} characters")
    return value


_WORLD_KEYS = frozenset({"instruments", "collateral_currencies", "marks", "accounts"})
_ACCOUNT_KEYS = frozenset({"id", "active", "collateral", "keys", "positions", "preferences"})


def _known(data: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    """Refuse unknown keys: a typo (``acounts``) must not silently load an empty world."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScenarioError(f"{where} has unknown keys: {', '.join(k[:40] for k in unknown[:5])}")


def parse_scenario(data: Any) -> Scenario:
    """Validate a raw scenario; raises ``ScenarioError`` naming the first problem."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario is an object at the top level")
    if "instruments_file" in data:
        raise ScenarioError("instruments_file is only allowed in a scenario file")
    _known(data, _WORLD_KEYS, "the scenario")
    scenario = Scenario()
    instruments = data.get("instruments", [])
    if not isinstance(instruments, list):
        raise ScenarioError("instruments must be a list")
    by_symbol: dict[str, dict[str, Any]] = {}
    for raw in instruments:
        if not isinstance(raw, dict):
            raise ScenarioError("each instrument must be an object")
        inst = canonical_instrument(raw)
        by_symbol[inst["symbol"]] = inst
    scenario.instruments = list(by_symbol.values())
    for currency, spec in _table(data, "collateral_currencies").items():
        spec = spec if isinstance(spec, dict) else {}
        haircut = amount(spec.get("haircut", "0"), f"haircut of {currency}")
        if haircut > 1:
            raise ScenarioError(f"haircut of {currency} must be at most 1")
        scenario.currencies[_str(currency, "currency", 10)] = (
            amount(spec.get("price"), f"price of {currency}", positive=True),
            haircut,
        )
    for symbol, price in _table(data, "marks").items():
        scenario.marks[_str(symbol, "mark symbol")] = amount(price, f"mark of {symbol}", positive=True)
    seen: set[str] = set()
    accounts = data.get("accounts", [])
    if not isinstance(accounts, list):
        raise ScenarioError("accounts must be a list")
    for raw in accounts:
        account = _account(raw, by_symbol, scenario)
        if account.id in seen:
            raise ScenarioError(f"account {account.id} is listed twice")
        seen.add(account.id)
        scenario.accounts.append(account)
    publics = [k.public for a in scenario.accounts for k in a.keys]
    if len(set(publics)) != len(publics):
        raise ScenarioError("an API key is listed twice")
    return scenario


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"{name} must be a table/object")
    return dict(value)


def _account(raw: Any, instruments: dict[str, dict[str, Any]], scenario: Scenario) -> AccountSpec:
    if not isinstance(raw, dict):
        raise ScenarioError("each account must be an object")
    account_id = _str(raw.get("id"), "account id")
    _known(raw, _ACCOUNT_KEYS, f"account {account_id}")
    collateral = {}
    for currency, qty in _table(raw, "collateral").items():
        if currency not in scenario.currencies:
            raise ScenarioError(f"account {account_id}: {currency} is not a collateral currency")
        collateral[currency] = amount(qty, f"{account_id} collateral {currency}")
    prefs = [_preference(p, account_id, instruments) for p in raw.get("preferences", [])]
    leverage = {p.symbol: p.max_leverage for p in prefs}
    positions = [_position(p, account_id, instruments, scenario, leverage) for p in raw.get("positions", [])]
    keys = [_key(k, account_id) for k in raw.get("keys", [])]
    return AccountSpec(account_id, bool(raw.get("active", True)), collateral, keys, positions, prefs)


def _multi(symbol: Any, instruments: dict[str, dict[str, Any]], where: str) -> str:
    name = _str(symbol, f"{where} symbol")
    inst = instruments.get(name)
    if inst is None or inst["type"] != "flexible_futures":
        raise ScenarioError(f"{where}: {name} is not a listed flexible_futures instrument")
    return name


def _preference(raw: Any, account_id: str, instruments: dict[str, dict[str, Any]]) -> PreferenceSpec:
    if not isinstance(raw, dict):
        raise ScenarioError(f"account {account_id}: each preference must be an object")
    symbol = _multi(raw.get("symbol"), instruments, f"account {account_id} preference")
    lev = raw.get("max_leverage")
    max_leverage = None if lev is None else amount(lev, f"{account_id} max_leverage of {symbol}")
    if max_leverage is not None and max_leverage < 1:
        raise ScenarioError(f"account {account_id}: max_leverage of {symbol} must be at least 1")
    pnl = raw.get("pnl_currency")
    return PreferenceSpec(symbol, max_leverage, None if pnl in (None, "USD") else _str(pnl, "pnl_currency", 10))


def _position(
    raw: Any,
    account_id: str,
    instruments: dict[str, dict[str, Any]],
    scenario: Scenario,
    leverage: dict[str, Decimal | None],
) -> PositionSpec:
    if not isinstance(raw, dict):
        raise ScenarioError(f"account {account_id}: each position must be an object")
    symbol = _multi(raw.get("symbol"), instruments, f"account {account_id} position")
    size = amount(raw.get("size"), f"{account_id} size of {symbol}", allow_negative=True)
    if size == 0:
        raise ScenarioError(f"account {account_id}: size of {symbol} must not be 0")
    entry = amount(raw.get("entry_price"), f"{account_id} entry_price of {symbol}", positive=True)
    allocated = raw.get("allocated_margin")
    max_leverage = leverage.get(symbol)
    if allocated is not None and max_leverage is None:
        raise ScenarioError(f"account {account_id}: allocated_margin of {symbol} needs an isolated preference")
    margin: Decimal | None = None
    if allocated is not None:
        margin = amount(allocated, f"{account_id} allocated_margin of {symbol}")
    elif max_leverage is not None:
        mark = scenario.marks.get(symbol, entry)
        contract_size = Decimal(str(instruments[symbol].get("contractSize", 1)))
        margin = allocation_for(abs(size) * contract_size * mark, max_leverage)
    fill_time = raw.get("fill_time", "2026-01-01T00:00:00.000Z")
    return PositionSpec(symbol, size, entry, _str(fill_time, "fill_time", 40), margin)


def _key(raw: Any, account_id: str) -> KeySpec:
    if not isinstance(raw, dict):
        raise ScenarioError(f"account {account_id}: each key must be an object")
    public, secret = raw.get("public"), raw.get("secret")
    if public is None and secret is None:
        public, secret = new_key_pair()
    public = _str(public, f"{account_id} key public", 128)
    secret = _str(secret, f"{account_id} key secret", 256)
    try:
        base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise ScenarioError(f"account {account_id}: key secret must be base64") from None
    access = raw.get("access", "full")
    if access not in ACCESS_LEVELS:
        raise ScenarioError(f"account {account_id}: key access must be 'full' or 'read'")
    budget = raw.get("rate_budget", DEFAULT_RATE_BUDGET)
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 10**9:
        raise ScenarioError(f"account {account_id}: rate_budget must be an integer from 1 to 1e9")
    expires = raw.get("expires_ms")
    if expires is not None and not valid_expiry(expires):
        raise ScenarioError(f"account {account_id}: expires_ms must be an integer (ms since the epoch)")
    return KeySpec(public, secret, str(access), budget, expires, bool(raw.get("revoked", False)))
