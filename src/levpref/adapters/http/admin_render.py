"""The admin API's presenters: service values → the answer Structs of ``adapters/wire/admin.py``.

Rules:
- Figures are rounded as ``/accounts`` rounds them (``money``), quantities and prices as held (``number``),
  leverages with two decimals; a preference's ``max_leverage`` in the account view is its stored text.
- The CLI prints the same Structs (``levpref accounts show``, ``levpref audit``): one JSON for one thing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from levpref.adapters import jsonwire
from levpref.adapters.http.render import Response, flex_account, preview_body
from levpref.adapters.jsonwire import money, number
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.audit import next_cursor
from levpref.adapters.wire.kraken import PreviewAnswer, leverage, optional_money
from levpref.domain.margin import FlexSummary
from levpref.errors import AdminError
from levpref.service.admin import plain_text
from levpref.service.audit import decimal_text
from levpref.service.audit_log import AuditPage
from levpref.service.operator import AccountPools, AccountSummary, PositionView
from levpref.service.preview import Preview
from levpref.service.records import PreferenceRecord


def admin_error(error: AdminError) -> Response:
    return error.status, jsonwire.dumps(wire.AdminErrorBody(error.code, error.detail))


def admin_ok(answer: msgspec.Struct | msgspec.Raw, status: int = 200) -> Response:
    return status, jsonwire.dumps(answer)


def account_view(account_id: str, summary: FlexSummary, prefs: list[PreferenceRecord]) -> wire.AccountView:
    """One account as the admin API and ``levpref accounts show`` both print it."""
    listed = [
        wire.AccountPreference(
            p.symbol, None if p.max_leverage is None else plain_text(p.max_leverage), p.pnl_currency or "USD"
        )
        for p in prefs
    ]
    return wire.AccountView(account_id, flex_account(summary), listed)


def accounts_page(page: list[AccountSummary], following: str | None) -> wire.AccountsPage:
    """``GET /admin/v1/accounts``: a page in id order, and the ``after`` of the next page (``null``: the last)."""
    return wire.AccountsPage(
        [wire.AccountEntry(a.account_id, a.active) for a in page],
        None if following is None else wire.AccountsCursor(following),
    )


def _leverage(value: Decimal | None) -> Decimal | None:
    return None if value is None else leverage(value)


def _isolated(item: PositionView) -> wire.IsolatedPoolFigures | None:
    p = item.position
    if p.allocated_margin is None:
        return None
    equity = p.allocated_margin + p.unrealized_pnl
    return wire.IsolatedPoolFigures(
        symbol=p.symbol,
        allocated_margin=money(p.allocated_margin),
        equity=money(equity),
        initial_margin=money(p.initial_margin),
        maintenance_margin=money(p.maintenance_margin),
        available=money(equity - p.initial_margin),
        liquidation_price=optional_money(item.liquidation_price),
    )


def _position(item: PositionView) -> wire.PoolPosition:
    p = item.position
    isolated = p.allocated_margin is not None
    return wire.PoolPosition(
        symbol=p.symbol,
        size=number(p.size),
        entry_price=number(p.entry_price),
        mark_price=number(p.mark_price),
        notional=money(p.notional),
        unrealized_pnl=money(p.unrealized_pnl),
        margin_mode="isolated" if isolated else "cross",
        max_leverage=_leverage(item.mode.max_leverage),  # None in cross: the pool of the position
        liquidation_price=optional_money(item.liquidation_price),
    )


def account_pools(view: AccountPools) -> wire.AccountPools:
    """``GET /admin/v1/accounts/{id}/pools``: every pool with its figures rounded as ``/accounts`` rounds them."""
    cross = view.cross
    return wire.AccountPools(
        account=view.account_id,
        active=view.active,
        cross=wire.CrossPoolFigures(
            equity=money(cross.equity),
            initial_margin=money(cross.initial_margin),
            maintenance_margin=money(cross.maintenance_margin),
            available=money(cross.available),
        ),
        isolated=[pool for pool in map(_isolated, view.positions) if pool is not None],
        positions=[_position(item) for item in view.positions],
        preferences=[
            wire.PoolPreference(p.symbol, _leverage(p.max_leverage), p.pnl_currency or "USD") for p in view.preferences
        ],
        keys=[wire.PoolKey(k.public_key, k.access, k.revoked) for k in view.keys],
    )


def audit_page(page: AuditPage) -> wire.AuditPage:
    """A page of the audit trail and the cursor of the following one."""
    entries = [
        wire.AuditEntry(
            id=a.id,
            account=a.account_id,
            at=a.at,
            actor=a.actor,
            action=a.action,
            symbol=a.symbol,
            before=a.before,
            after=a.after,
            margin_moved=decimal_text(a.margin_moved),
            request_id=a.request_id,
        )
        for a in page.entries
    ]
    return wire.AuditPage(entries, next_cursor(page))


def preview(p: Preview) -> PreviewAnswer:
    """The admin API's preview: the Kraken ``preview`` object, without the Kraken envelope."""
    return PreviewAnswer(preview_body(p))


def exported_scenario(world: dict[str, Any]) -> wire.ExportedScenario:
    """The service's export, typed (the Structs keep its key order; absent keys stay absent)."""
    return msgspec.convert(world, wire.ExportedScenario)


__all__ = ["account_pools", "account_view", "accounts_page", "admin_error", "admin_ok", "audit_page", "preview"]
