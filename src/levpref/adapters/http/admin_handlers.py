"""The handlers of the admin API and of the operations routes: one use case each, a typed answer each.

Rules:
- A handler gets a ``Call`` (path parameters by name, query parameters already checked against its route's) and
  answers a Struct (sent with its route's first status), or a Struct and one of its route's statuses.
- Bodies are decoded strictly into the Structs of ``adapters/wire`` (``InvalidInput`` names the field at fault).
- Which handler serves which method and path is the route table's business (``admin_routes.py``), not theirs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from levpref.adapters.http import admin_render as present
from levpref.adapters.http.render import now_ms
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.audit import audit_query
from levpref.adapters.wire.decode import loads_json
from levpref.adapters.wire.kraken import PreviewAnswer
from levpref.adapters.wire.scenario import decode_instruments, decode_scenario_body
from levpref.errors import InvalidInput
from levpref.service.admin import AdminService, plain_text
from levpref.service.audit import decimal_text
from levpref.service.operator import MAX_ACCOUNTS_PAGE, OperatorViews

log = logging.getLogger("levpref.http")


@dataclass(frozen=True, slots=True)
class Call:
    """One request as a handler sees it: the path parameters by name and the checked query parameters."""

    path: dict[str, str]
    params: dict[str, str]
    body: bytes
    content_type: str
    request_id: str


@dataclass(frozen=True, slots=True)
class Page:
    """A body that is not JSON (the metrics exposition)."""

    body: bytes
    content_type: str


Reply = msgspec.Struct | msgspec.Raw | Page | tuple[msgspec.Struct, int]


@dataclass(frozen=True, slots=True)
class Admin:
    """What the admin handlers use."""

    service: AdminService
    views: OperatorViews


async def load_scenario(a: Admin, c: Call) -> wire.ScenarioLoaded:
    scenario = decode_scenario_body(c.body, c.content_type)
    keys = await a.service.load_scenario(scenario, now_ms(), c.request_id)
    return wire.ScenarioLoaded(keys=[wire.ScenarioKey(k.account_id, k.public, k.access) for k in keys])


async def export_scenario(a: Admin, c: Call) -> wire.ExportedScenario:
    if c.params.get("secrets", "false") not in ("true", "false"):
        raise InvalidInput("secrets: expected true or false")
    return present.exported_scenario(await a.service.export_scenario(with_secrets=c.params.get("secrets") == "true"))


async def load_instruments(a: Admin, c: Call) -> wire.InstrumentsLoaded:
    instruments = decode_instruments(loads_json(c.body))
    return wire.InstrumentsLoaded(await a.service.load_instruments(instruments, now_ms(), c.request_id))


async def set_mark(a: Admin, c: Call) -> wire.MarkSet:
    symbol, price = c.path["symbol"], wire.plain(wire.body(c.body, wire.MarkBody).price)
    await a.service.set_mark(symbol, price, now_ms(), c.request_id)
    return wire.MarkSet(symbol, plain_text(price))


async def set_currency(a: Admin, c: Call) -> wire.CurrencySet:
    body = wire.body(c.body, wire.CurrencyBody)
    price, haircut = wire.plain(body.price), wire.plain(body.haircut)
    await a.service.set_currency(c.path["currency"], price, haircut, now_ms(), c.request_id)
    return wire.CurrencySet(c.path["currency"])


async def list_accounts(a: Admin, c: Call) -> wire.AccountsPage:
    limit = c.params.get("limit", str(MAX_ACCOUNTS_PAGE))
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_ACCOUNTS_PAGE):
        raise InvalidInput(f"limit: expected an integer from 1 to {MAX_ACCOUNTS_PAGE}")
    page = await a.views.accounts(c.params.get("after", ""), int(limit))
    return present.accounts_page(page, page[-1].account_id if len(page) == int(limit) else None)


async def upsert_account(a: Admin, c: Call) -> tuple[wire.AccountSet, int]:
    account, active = c.path["account"], wire.body(c.body, wire.AccountBody).active
    created = await a.service.upsert_account(account, active=active, now_ms=now_ms(), request_id=c.request_id)
    return wire.AccountSet(account, active), 201 if created else 200


async def get_account(a: Admin, c: Call) -> wire.AccountView:
    summary, prefs = await a.service.account(c.path["account"])
    return present.account_view(c.path["account"], summary, prefs)


async def account_pools(a: Admin, c: Call) -> wire.AccountPools:
    return present.account_pools(await a.views.pools(c.path["account"]))


async def preview(a: Admin, c: Call) -> PreviewAnswer:
    params = {name: [value] for name, value in c.params.items()}
    return present.preview(await a.views.preview(c.path["account"], params))


async def set_collateral(a: Admin, c: Call) -> wire.CollateralSet:
    account, currency = c.path["account"], c.path["currency"]
    quantity = wire.plain(wire.body(c.body, wire.CollateralBody).quantity)
    await a.service.set_collateral(account, currency, quantity, now_ms(), c.request_id)
    return wire.CollateralSet(account, currency)


async def set_position(a: Admin, c: Call) -> wire.PositionSet:
    account, symbol, body = c.path["account"], c.path["symbol"], wire.body(c.body, wire.PositionBody)
    size, entry = wire.plain(body.size), wire.plain(body.entry_price)
    allocated = await a.service.set_position(account, symbol, size, entry, now_ms(), c.request_id)
    return wire.PositionSet(account, symbol, decimal_text(allocated))


async def delete_position(a: Admin, c: Call) -> wire.PositionDeleted:
    await a.service.delete_position(c.path["account"], c.path["symbol"], now_ms(), c.request_id)
    return wire.PositionDeleted(c.path["account"], c.path["symbol"])


async def audit(a: Admin, c: Call) -> wire.AuditPage:
    return present.audit_page(await a.service.audit_page(audit_query(c.params, c.path.get("account"))))


async def create_key(a: Admin, c: Call) -> wire.KeyIssued:
    body = wire.body(c.body, wire.KeyBody)
    key = await a.service.create_key(
        c.path["account"], body.access, body.rate_budget, now_ms(), body.expires_ms, c.request_id
    )
    return wire.KeyIssued(key.account_id, key.public, key.secret, key.access)


async def revoke_key(a: Admin, c: Call) -> wire.KeyRevoked:
    await a.service.revoke_key(c.path["public"], now_ms(), c.request_id)
    return wire.KeyRevoked(c.path["public"])


# --- the operations handlers (no authentication) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operations:
    """What the operations handlers use."""

    ping: Callable[[], Awaitable[None]]
    document: Callable[[], bytes]
    exposition: Callable[[], tuple[bytes, str]]


async def health(_: Operations, c: Call) -> wire.Health:
    return wire.Health()


async def ready(ops: Operations, c: Call) -> wire.Ready | tuple[wire.Unavailable, int]:
    """Ready when the database answers."""
    try:
        await ops.ping()
    except Exception:  # any store failure means not ready
        log.exception("readiness check failed")
        return wire.Unavailable(), 503
    return wire.Ready()


async def metrics(ops: Operations, c: Call) -> Page:
    return Page(*ops.exposition())


async def openapi(ops: Operations, c: Call) -> msgspec.Raw:
    return msgspec.Raw(ops.document())


__all__ = ["Admin", "Call", "Operations", "Page", "Reply"]
