"""The stored shapes the use cases work with (what a store returns and accepts)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from levpref.domain.instruments import Instrument
from levpref.domain.margin import MarginAccount
from levpref.domain.preferences import MarginMode
from levpref.ratelimit import Bucket

Access = Literal["full", "read"]


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    public_key: str
    account_id: str
    secret_enc: str
    access: Access
    rate_budget: int
    revoked: bool
    expires_ms: int | None
    bucket: Bucket
    nonce_count: int
    account_active: bool
    nonce_floor: str | None = None  # the highest nonce evicted from the window (20-digit storage form)


@dataclass(frozen=True, slots=True)
class NonceState:
    """One nonce's place in its key's window, as the gate read it: already kept, and the window's smallest."""

    known: bool
    smallest: str | None  # 20-digit storage form; ``None`` when the window is empty


@dataclass(frozen=True, slots=True)
class InstrumentRecord:
    """An instrument and its Kraken wire form (``raw``, as loaded), returned by GET /instruments."""

    instrument: Instrument
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CurrencyRecord:
    currency: str
    price: Decimal
    haircut: Decimal


@dataclass(frozen=True, slots=True)
class PositionRecord:
    symbol: str
    size: Decimal
    entry_price: Decimal
    fill_time: str
    allocated_margin: Decimal | None


@dataclass(frozen=True, slots=True)
class PreferenceRecord:
    """A contract's preferences: its margin mode and its PnL currency (``None``: the default, USD)."""

    symbol: str
    mode: MarginMode
    pnl_currency: str | None

    @property
    def max_leverage(self) -> Decimal | None:
        """The wire's optional ``maxLeverage`` (``None`` in cross), for the edges that print it."""
        return self.mode.max_leverage


@dataclass(frozen=True, slots=True)
class AuditRecord:
    account_id: str
    at: str
    actor: str
    action: str
    symbol: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    margin_moved: Decimal | None
    request_id: str
    id: int = 0


@dataclass(frozen=True, slots=True)
class AccountState:
    """What one statement reads of an account for a decision (``Tx.account_state``): the instrument asked for, the
    margin inputs at market, and the preferences. Unless asked for complete, ``margin`` may list only the
    contract asked for (with the exact sums of the other positions) and ``preferences`` hold only its own."""

    instrument: InstrumentRecord | None  # the instrument asked for, if any
    margin: MarginAccount
    preferences: dict[str, PreferenceRecord]
