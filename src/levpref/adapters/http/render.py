"""The Kraken response bodies: envelopes, errors and the Kraken wire shapes (the admin API's: ``admin_render.py``).

Rules (SPEC §1.1):
- Success: HTTP 200, ``result``/``serverTime`` plus payload, and never an ``error`` key.
- Generic errors: shape A, HTTP 200. Business errors of the preference endpoints: shape B, HTTP 500.
- Unknown path 404 / wrong method 405 / body too large 413: shape B with code 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from levpref.adapters import jsonwire
from levpref.adapters.jsonwire import money, number
from levpref.adapters.wire import kraken as wire
from levpref.domain.margin import FlexSummary
from levpref.domain.preferences import MarginMode
from levpref.errors import BusinessError, KrakenError, LevprefError, ServerError
from levpref.service.audit import iso_time
from levpref.service.preferences import OpenPosition
from levpref.service.preview import PoolFigures, Pools, Preview
from levpref.service.records import PreferenceRecord

Response = tuple[int, bytes]
_TWO = Decimal("0.01")
_ZERO = msgspec.Raw(b"0")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def server_time() -> str:
    return iso_time(now_ms())


@dataclass(frozen=True, slots=True)
class Shape:
    """How one shape of ``levpref.errors`` goes on the wire: its HTTP status and body, the refusal as the preview
    carries it (``{"code","message"}`` or ``{"error"}``), and its metrics label."""

    status: int
    body: Callable[[Any, str], msgspec.Struct]
    refusal: Callable[[Any], wire.Refusal]
    label: Callable[[Any], str]


def _numbered(error: BusinessError, at: str) -> wire.NumberedError:
    items = [wire.ErrorItem(error.number, error.message)]
    return wire.NumberedError(status="INTERNAL_SERVER_ERROR", errors=items, serverTime=at)


_SHAPES: dict[type[LevprefError], Shape] = {
    BusinessError: Shape(
        500, _numbered, lambda e: wire.Refusal(code=e.number, message=e.message), lambda e: str(e.number)
    ),
    KrakenError: Shape(
        200, lambda e, at: wire.GenericError(serverTime=at, error=e.code), lambda e: wire.Refusal(error=e.code),
        lambda e: str(e.code),
    ),
    LevprefError: Shape(  # not meant for a Kraken endpoint: answered as Kraken answers an internal failure
        200, lambda _, at: wire.GenericError(serverTime=at, error=ServerError.code),
        lambda _: wire.Refusal(error=ServerError.code), lambda _: ServerError.code,
    ),
}  # fmt: skip


def shape_of(error: LevprefError) -> Shape:
    """The shape of ``error``: that of the first class of its MRO that has one (``LevprefError`` has)."""
    return next(_SHAPES[cls] for cls in type(error).__mro__ if cls in _SHAPES)


def kraken_error(error: LevprefError, at: str | None = None) -> Response:
    """Render any refusal of a Kraken endpoint at the request's time ``at`` (shape B for business errors, else A)."""
    shape = shape_of(error)
    return shape.status, jsonwire.dumps(shape.body(error, at or server_time()))


def kraken_success(body: wire.Success) -> Response:
    return 200, jsonwire.dumps(body)


def outcome_of(error: LevprefError) -> str:
    """The metrics label of a refusal: the Kraken error string or the business code."""
    return shape_of(error).label(error)


ROUTING_STATUS = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    429: "TOO_MANY_CONNECTIONS",
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
    503: "SERVICE_UNAVAILABLE",
}


def routing_error(status: int, at: str | None = None) -> Response:
    name = ROUTING_STATUS[status]
    items = [wire.ErrorItem(0, f"{status} {name}")]
    return status, jsonwire.dumps(wire.NumberedError(status=name, errors=items, serverTime=at or server_time()))


def accepted(_: object, at: str) -> wire.Accepted:
    return wire.Accepted(serverTime=at)


def leverage_preferences(prefs: list[PreferenceRecord], at: str) -> wire.LeveragePreferences:
    listed = [wire.LeveragePreference(p.symbol, wire.leverage(p.max_leverage or Decimal(0))) for p in prefs]
    return wire.LeveragePreferences(serverTime=at, leveragePreferences=listed)


def pnl_preferences(prefs: list[PreferenceRecord], at: str) -> wire.PnlPreferences:
    listed = [wire.PnlPreference(p.symbol, p.pnl_currency or "USD") for p in prefs]
    return wire.PnlPreferences(serverTime=at, preferences=listed)


def instruments(listed: list[dict[str, Any]], at: str) -> wire.Instruments:
    return wire.Instruments(serverTime=at, instruments=listed)


def flex_account(summary: FlexSummary) -> wire.FlexAccount:
    unrealized = money(summary.unrealized_pnl)
    return wire.FlexAccount(
        currencies={
            c: wire.FlexCurrency(number(q), money(v), money(cv), money(a))
            for c, (q, v, cv, a) in summary.currencies.items()
        },
        initialMargin=money(summary.initial_margin),
        initialMarginWithOrders=money(summary.initial_margin),
        maintenanceMargin=money(summary.maintenance_margin),
        balanceValue=money(summary.balance_value),
        portfolioValue=money(summary.portfolio_value),
        collateralValue=money(summary.collateral_value),
        pnl=unrealized,
        unrealizedFunding=_ZERO,
        totalUnrealized=unrealized,
        totalUnrealizedAsMargin=unrealized,
        availableMargin=money(summary.available_margin),
        marginEquity=money(summary.margin_equity),
    )


def flex(summary: FlexSummary) -> wire.FlexAccount:
    """The flex account, as the admin API's account view embeds it too."""
    return flex_account(summary)


def accounts(summary: FlexSummary, at: str) -> wire.Accounts:
    return wire.Accounts(serverTime=at, accounts=wire.AccountsPayload(wire.CashAccount(), flex_account(summary)))


def open_positions(positions: list[OpenPosition], at: str) -> wire.OpenPositions:
    items = [
        wire.OpenPosition(
            side="long" if p.record.size > 0 else "short",
            symbol=p.record.symbol,
            price=number(p.record.entry_price),
            fillTime=p.record.fill_time,
            size=number(abs(p.record.size)),
            unrealizedFunding=_ZERO,
            pnlCurrency=p.pnl_currency,
            maxFixedLeverage=None if p.mode.max_leverage is None else wire.leverage(p.mode.max_leverage),
        )
        for p in positions
    ]
    return wire.OpenPositions(serverTime=at, openPositions=items)


def _optional_money(value: Decimal | None) -> msgspec.Raw | None:
    return None if value is None else money(value)


def _leverage(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_TWO)


def _leverage_of(mode: MarginMode | None) -> Decimal | None:
    return None if mode is None else _leverage(mode.max_leverage)


def _pool(pool: PoolFigures | None) -> wire.PreviewPool | None:
    if pool is None:
        return None
    return wire.PreviewPool(
        equity=money(pool.equity),
        initialMargin=money(pool.initial_margin),
        maintenanceMargin=money(pool.maintenance_margin),
        availableMargin=money(pool.available),
        allocatedMargin=_optional_money(pool.allocated_margin),
    )


def _pools(pools: Pools | None) -> wire.PreviewPools | None:
    return None if pools is None else wire.PreviewPools(_pool(pools.cross), _pool(pools.isolated))


def preview_error(error: LevprefError | None) -> wire.Refusal | None:
    """The error the PUT would answer, in its own shape: ``{"code", "message"}`` (B) or ``{"error"}`` (A)."""
    return None if error is None else shape_of(error).refusal(error)


def preview_body(p: Preview) -> wire.PreviewBody:
    """SPEC §6.1: the ``preview`` object, numbers rounded as ``/accounts`` rounds them."""
    before, after = p.mode_before, p.mode_after
    mode = None
    if before is not None and after is not None:
        mode = wire.BeforeAfterMode(before.name, after.name)
    return wire.PreviewBody(
        symbol=p.symbol,
        outcome=p.outcome,  # type: ignore[arg-type]  # one of the three, set by service.preview
        error=preview_error(p.error),
        rule=p.rule,
        failedPool=p.failed_pool,
        marginMode=mode,
        maxLeverage=wire.BeforeAfterLeverage(_leverage_of(before), _leverage_of(after)),
        before=_pools(p.before),
        after=_pools(p.after),
        allocatedMargin=wire.BeforeAfterMoney(_optional_money(p.allocated_before), _optional_money(p.allocated_after)),
        marginMoved=_optional_money(p.margin_moved),
        liquidationPrice=wire.BeforeAfterMoney(
            _optional_money(p.liquidation_before), _optional_money(p.liquidation_after)
        ),
    )


def preview_response(p: Preview, at: str) -> wire.Preview:
    return wire.Preview(serverTime=at, preview=preview_body(p))
