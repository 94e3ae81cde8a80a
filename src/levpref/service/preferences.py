"""The endpoint use cases: leverage and PnL preferences, the flex account, open positions (SPEC §1.2–§1.5).

Rules:
- PUT /leveragepreferences checks, in order: ``requiredArgumentMissing`` → 87 → 88 → ``marketUnavailable`` →
  ``invalidArgument`` (format, duplicates, cap of the margin schedule at the current notional) → the margin
  decision (92, then 41). Repeating the current preference succeeds and changes nothing (no audit entry).
- Handlers decide first and write last, so a refusal leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from levpref.auth.params import Params
from levpref.domain.instruments import Instrument
from levpref.domain.margin import FlexSummary, MarginDecision, Outcome, Rule, decide_leverage_change, flex_summary
from levpref.domain.preferences import CROSS, Isolated, MarginMode, is_currency_code, parse_margin_mode
from levpref.errors import (
    BusinessError,
    ContractDoesNotExist,
    ContractNotMultiCollateral,
    CurrencyDoesNotExist,
    CurrencyNotEnabledForMultiCollateral,
    InsufficientMargin,
    InvalidArgument,
    LeverageAboveCap,
    MarketUnavailable,
    RequiredArgumentMissing,
    WouldCauseLiquidation,
)
from levpref.service.audit import decimal_text, iso_time
from levpref.service.ports import Tx
from levpref.service.records import (
    AccountState,
    ApiKeyRecord,
    AuditRecord,
    InstrumentRecord,
    PositionRecord,
    PreferenceRecord,
)

if TYPE_CHECKING:  # kraken.py imports this module at run time; the request type is needed for checking only
    from levpref.service.kraken import KrakenRequest as Request


def _params(request: Request) -> Params:
    """The request's parameters (``KrakenService.handle`` refuses unreadable ones before any handler runs)."""
    assert request.params is not None
    return request.params


def _single(params: Params, name: str, *, required: bool) -> str | None:
    values = params.get(name, [])
    if not values or (required and values == [""]):
        if required:
            raise RequiredArgumentMissing
        return None
    if len(values) > 1:
        raise InvalidArgument
    return values[0]


def _symbol(params: Params) -> str:
    """The ``symbol`` asked for (``requiredArgumentMissing`` without one); 87 for a NUL, which no symbol holds (and
    PostgreSQL text cannot)."""
    symbol = _single(params, "symbol", required=True)
    assert symbol is not None
    if "\x00" in symbol:
        raise ContractDoesNotExist
    return symbol


async def _multi_collateral_instrument(tx: Tx, params: Params) -> Instrument:
    """The instrument named by ``symbol``: 87 if unknown, 88 if not multi-collateral, unavailable if halted."""
    return _tradeable(await tx.instrument(_symbol(params)))


def _tradeable(record: InstrumentRecord | None) -> Instrument:
    if record is None:
        raise ContractDoesNotExist
    if not record.instrument.is_multi_collateral:
        raise ContractNotMultiCollateral
    if not record.instrument.tradeable:
        raise MarketUnavailable
    return record.instrument


@dataclass(frozen=True, slots=True)
class LeverageChange:
    """A validated change of one contract's margin mode, and its margin decision.

    ``decision`` is ``None`` when the contract already has this preference (a harmless repeat)."""

    symbol: str
    current: PreferenceRecord
    mode: MarginMode
    view: AccountState
    decision: MarginDecision | None


async def plan_leverage_change(tx: Tx, account_id: str, params: Params, *, lock: bool) -> LeverageChange:
    """Validate a leverage change in the order of SPEC §1.2 and decide it (SPEC §3.4), writing nothing.

    Raises the refusal of every check before the margin decision; the decision itself is returned as a value.
    ``lock`` takes the account's row lock first (a change that will be written); a preview reads without it.
    """
    symbol = _symbol(params)
    if lock:
        await tx.serialize_account(account_id)
    view = await tx.account_state(account_id, symbol)  # one statement: the instrument and the account
    instrument = _tradeable(view.instrument)
    assert instrument.schedule is not None  # multi-collateral instruments have one
    mode = parse_margin_mode(_single(params, "maxLeverage", required=False))
    position = view.margin.position(symbol)
    notional = Decimal(0) if position is None else position.notional
    if isinstance(mode, Isolated) and not instrument.schedule.allows_leverage(mode.leverage, notional):
        raise LeverageAboveCap
    current = view.preferences.get(symbol, PreferenceRecord(symbol, CROSS, None))
    if current.mode == mode:
        return LeverageChange(symbol, current, mode, view, None)
    return LeverageChange(symbol, current, mode, view, decide_leverage_change(view.margin, symbol, mode))


def refusal_of(decision: MarginDecision) -> BusinessError | None:
    """The error a refused decision answers (92 or 41), or ``None`` when accepted."""
    if decision.outcome is Outcome.INSUFFICIENT_MARGIN:
        return InsufficientMargin()
    if decision.outcome is Outcome.WOULD_CAUSE_LIQUIDATION:
        return WouldCauseLiquidation()
    return None


async def put_leverage(tx: Tx, key: ApiKeyRecord, request: Request) -> None:
    change = await plan_leverage_change(tx, key.account_id, _params(request), lock=True)
    decision = change.decision
    if decision is None:
        return  # already so: harmless repeat
    refusal = refusal_of(decision)
    if refusal is not None:
        raise refusal
    symbol, current = change.symbol, change.current
    await tx.set_preference(key.account_id, PreferenceRecord(symbol, change.mode, current.pnl_currency))
    moved = decision.rule is not Rule.NO_POSITION
    if moved:
        await tx.set_allocation(key.account_id, symbol, decision.allocated_after)
    await _audit_change(
        tx,
        key,
        request,
        "set_leverage_preference",
        symbol,
        before=_leverage_state(current.mode, decision.allocated_before),
        after=_leverage_state(change.mode, decision.allocated_after),
        margin_moved=decision.margin_moved if moved else None,
    )


async def _audit_change(
    tx: Tx,
    key: ApiKeyRecord,
    request: Request,
    action: str,
    symbol: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    margin_moved: Decimal | None = None,
) -> None:
    """Record an accepted change made with ``key`` (who: the key's first 8 characters; when: the request's time)."""
    await tx.add_audit(
        AuditRecord(
            account_id=key.account_id,
            at=iso_time(request.now_ms),
            actor=f"key:{key.public_key[:8]}",
            action=action,
            symbol=symbol,
            before=before,
            after=after,
            margin_moved=margin_moved,
            request_id=request.request_id,
        )
    )


def _leverage_state(mode: MarginMode, allocated: Decimal | None) -> dict[str, Any]:
    return {
        "margin_mode": mode.name,
        "max_leverage": None if mode.max_leverage is None else str(mode.max_leverage),
        "allocated_margin": decimal_text(allocated),
    }


async def get_leverage(tx: Tx, key: ApiKeyRecord, request: Request) -> list[PreferenceRecord]:
    symbol = _single(_params(request), "symbol", required=False)
    prefs = [p for p in await tx.preferences(key.account_id) if isinstance(p.mode, Isolated)]
    return [p for p in prefs if symbol is None or p.symbol == symbol]


async def put_pnl(tx: Tx, key: ApiKeyRecord, request: Request) -> None:
    """Order: ``requiredArgumentMissing`` (symbol, pnlPreference) → 87 → 88 → ``marketUnavailable`` → 89 → 90."""
    params = _params(request)
    for name in ("symbol", "pnlPreference"):
        if params.get(name, []) in ([], [""]):
            raise RequiredArgumentMissing
    symbol = (await _multi_collateral_instrument(tx, params)).symbol
    currency = _single(params, "pnlPreference", required=True)
    assert currency is not None
    if not is_currency_code(currency):
        raise CurrencyDoesNotExist
    if await tx.currency(currency) is None:
        raise CurrencyNotEnabledForMultiCollateral if currency in _KNOWN_CURRENCIES else CurrencyDoesNotExist
    await tx.lock_account(key.account_id)
    current = await tx.preference(key.account_id, symbol)
    if (current.pnl_currency or "USD") == currency:
        return
    await tx.set_preference(key.account_id, PreferenceRecord(symbol, current.mode, currency))
    await _audit_change(
        tx,
        key,
        request,
        "set_pnl_preference",
        symbol,
        before={"pnl_currency": current.pnl_currency or "USD"},
        after={"pnl_currency": currency},
    )


# Currencies Kraken knows but that are not margin currencies unless an operator lists them (error 90, not 89).
_KNOWN_CURRENCIES = frozenset(
    {
        "USD",
        "EUR",
        "GBP",
        "USDC",
        "USDT",
        "BTC",
        "XBT",
        "ETH",
        "SOL",
        "XRP",
        "ADA",
        "DOT",
        "LTC",
        "BCH",
        "LINK",
        "DOGE",
        "AUD",
        "CAD",
        "CHF",
        "JPY",
    }
)


async def get_pnl(tx: Tx, key: ApiKeyRecord, request: Request) -> list[PreferenceRecord]:
    return [p for p in await tx.preferences(key.account_id) if p.pnl_currency is not None]


async def get_accounts(tx: Tx, key: ApiKeyRecord, request: Request) -> FlexSummary:
    return flex_summary((await tx.account_state(key.account_id)).margin)


@dataclass(frozen=True, slots=True)
class OpenPosition:
    record: PositionRecord
    mode: MarginMode
    pnl_currency: str


async def get_open_positions(tx: Tx, key: ApiKeyRecord, request: Request) -> list[OpenPosition]:
    prefs = {p.symbol: p for p in await tx.preferences(key.account_id)}
    out = []
    for record in await tx.positions(key.account_id):
        pref = prefs.get(record.symbol)
        mode = pref.mode if pref is not None and record.allocated_margin is not None else CROSS
        out.append(OpenPosition(record, mode, (pref.pnl_currency if pref else None) or "USD"))
    out.sort(key=lambda p: p.record.fill_time, reverse=True)
    return out
