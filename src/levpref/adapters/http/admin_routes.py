"""The one table of the admin API (SPEC §4) and of the operations routes: method and path template → handler,
request body type, answers (status → Struct), path and query parameters.

The admin dispatch (``admin.py``: 404 for an unknown path, 405 for a known path and another method), the dispatch of
the operations routes (``app.py``), their metrics labels and their part of the OpenAPI document (``openapi.py``)
are all derived from ``ADMIN_ROUTES`` and ``OPERATION_ROUTES``. Adding an endpoint means one row here, its handler
(below) and its Structs (``adapters/wire/admin.py``).

Rules:
- A path template's ``{name}`` is a path parameter of ``PATH_PARAMS``: its pattern matches one segment of the path
  as sent (a percent-encoded ``/`` is not a separator). Templates are compiled once, by ``Router``.
- A route with query parameters refuses any other and any given twice (``wire.audit.parameters``); a route
  without ignores its query string.
- A handler answers a Struct (the route's first status), or a Struct and one of the route's statuses.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import Meta

from levpref.adapters import jsonwire
from levpref.adapters.http import admin_render as present
from levpref.adapters.http.render import Response, now_ms
from levpref.adapters.http.routes import QueryParam
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.audit import ACTION_PATTERN, ID_PATTERN, SYMBOL_PATTERN, audit_query
from levpref.adapters.wire.decode import loads_json
from levpref.adapters.wire.kraken import PreviewAnswer
from levpref.adapters.wire.scenario import InstrumentsDoc, ScenarioDoc, decode_instruments, decode_scenario_body
from levpref.errors import InvalidInput
from levpref.service.admin import AdminService, plain_text
from levpref.service.audit import decimal_text
from levpref.service.audit_log import MAX_LIMIT
from levpref.service.operator import MAX_ACCOUNTS_PAGE, OperatorViews

log = logging.getLogger("levpref.http")
C = TypeVar("C")
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class PathParam:
    name: str
    pattern: str  # one path segment, unanchored
    example: str


_SEGMENT = r"[A-Za-z0-9_.\-]{1,64}"
PATH_PARAMS = {
    "account": PathParam("account", _SEGMENT, "alice"),
    "symbol": PathParam("symbol", _SEGMENT, "PF_XBTUSD"),
    "currency": PathParam("currency", _SEGMENT, "USD"),
    "public": PathParam("public", r"[A-Za-z0-9+/=_\-]{1,128}", "probe-api-key"),
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class Answer:
    """One documented answer of a route: its status, body type and description."""

    status: int
    type: Any  # a Struct (or a type msgspec describes: ``str`` for text)
    description: str = "Done."
    media_type: str = JSON


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
class Route(Generic[C]):
    """One route. ``body`` is the request body's type (``None``: no body); ``toml``: it may also come as TOML;
    ``reads_body``: ``False`` for a route answered before the body is read (it never answers 413)."""

    method: str
    path: str
    operation_id: str
    summary: str
    handler: Callable[[C, Call], Awaitable[Reply]]
    answers: tuple[Answer, ...]
    body: Any = None
    query: tuple[QueryParam, ...] = ()
    toml: bool = False
    label: str = "admin"
    reads_body: bool = True

    @property
    def path_params(self) -> tuple[PathParam, ...]:
        return tuple(PATH_PARAMS[name] for name in _PLACEHOLDER.findall(self.path))

    @property
    def query_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.query)


def compile_template(template: str) -> re.Pattern[str]:
    """``/admin/v1/keys/{public}`` → a pattern with one named group per path parameter."""
    pieces, start = [], 0
    for placeholder in _PLACEHOLDER.finditer(template):
        param = PATH_PARAMS[placeholder[1]]
        pieces += [re.escape(template[start : placeholder.start()]), f"(?P<{param.name}>{param.pattern})"]
        start = placeholder.end()
    return re.compile("".join([*pieces, re.escape(template[start:])]))


@dataclass(frozen=True, slots=True)
class Found(Generic[C]):
    methods: dict[str, Route[C]]
    path: dict[str, str]


class Router(Generic[C]):
    """The routes of a table by path template, each template compiled once."""

    def __init__(self, routes: tuple[Route[C], ...]) -> None:
        by_path: dict[str, dict[str, Route[C]]] = {}
        for route in routes:
            by_path.setdefault(route.path, {})[route.method] = route
        self._templates = [(compile_template(path), methods) for path, methods in by_path.items()]

    def lookup(self, path: str) -> Found[C] | None:
        """The routes of the template ``path`` matches (and its parameters), or None: 404."""
        for pattern, methods in self._templates:
            match = pattern.fullmatch(path)
            if match is not None:
                return Found(methods, match.groupdict())
        return None


def respond(route: Route[C], reply: Reply) -> Response:
    """The handler's reply on the wire: with its own status, else the route's first."""
    if isinstance(reply, Page):
        return route.answers[0].status, reply.body
    body, status = reply if isinstance(reply, tuple) else (reply, route.answers[0].status)
    return status, jsonwire.dumps(body)


def _q(name: str, description: str, kind: Any) -> QueryParam:
    return QueryParam(name, description, msgspec.json.schema(kind))


def _matching(pattern: str) -> Any:
    return Annotated[str, Meta(pattern=f"^{pattern}$")]


def _done(kind: Any, status: int = 200) -> tuple[Answer, ...]:
    return (Answer(status, kind),)


# --- the admin handlers -----------------------------------------------------------------------------------------


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


# --- the admin table ----------------------------------------------------------------------------------------------

_LEVERAGE_TEXT = Annotated[str, Meta(pattern="^[0-9]{1,6}(\\.[0-9]{1,2})?$", examples=["10", "2.5"])]
_PREVIEW_QUERY = (
    _q("symbol", "The contract (as for the Kraken preview).", str),
    _q("maxLeverage", "Absent → cross; present → isolated at this leverage.", _LEVERAGE_TEXT),
)
_AUDIT_QUERY = (
    _q("limit", f"1 to {MAX_LIMIT} entries (default 100).", Annotated[int, Meta(ge=1, le=MAX_LIMIT)]),
    _q("order", "newest (default) or oldest first.", Literal["newest", "oldest"]),
    _q("after_id", "Only ids above (a page's next cursor when oldest first).", _matching(ID_PATTERN)),
    _q("before_id", "Only ids below (a page's next cursor when newest first).", _matching(ID_PATTERN)),
    _q("symbol", "Only this contract.", _matching(SYMBOL_PATTERN)),
    _q("action", "Only this action (set_mark, set_leverage_preference, …).", _matching(ACTION_PATTERN)),
    _q("since", "From this time on (inclusive): ISO-8601 UTC (2026-12-01T00:00:00Z) or milliseconds.", str),
    _q("until", "Before this time (exclusive): ISO-8601 UTC or milliseconds.", str),
)  # fmt: skip
_ACCOUNTS_QUERY = (
    _q("after", "Only accounts after this id (the next cursor of a page).", str),
    _q("limit", f"1 to {MAX_ACCOUNTS_PAGE} accounts (default {MAX_ACCOUNTS_PAGE}).",
       Annotated[int, Meta(ge=1, le=MAX_ACCOUNTS_PAGE)]),
)  # fmt: skip
_SECRETS = (_q("secrets", "true: include every key's secret (the operator's backup).", Literal["true", "false"]),)
_ACCOUNT = "/admin/v1/accounts/{account}"

ADMIN_ROUTES: tuple[Route[Admin], ...] = (
    Route("PUT", "/admin/v1/scenario", "loadScenario",
          "Load a whole world, replacing the state (JSON, or TOML with Content-Type application/toml).",
          load_scenario, _done(wire.ScenarioLoaded), body=ScenarioDoc, toml=True),
    Route("GET", "/admin/v1/scenario", "exportScenario", "Export the world (key secrets only with ?secrets=true).",
          export_scenario, _done(wire.ExportedScenario), query=_SECRETS),
    Route("PUT", "/admin/v1/instruments", "loadInstruments",
          "Load instruments: a Kraken GET /instruments response or a list of instruments.",
          load_instruments, _done(wire.InstrumentsLoaded), body=InstrumentsDoc | list[dict[str, Any]]),
    Route("PUT", "/admin/v1/marks/{symbol}", "setMark", "Set a contract's mark price.",
          set_mark, _done(wire.MarkSet), body=wire.MarkBody),
    Route("PUT", "/admin/v1/currencies/{currency}", "setCurrency",
          "List a collateral currency with its USD price and haircut.",
          set_currency, _done(wire.CurrencySet), body=wire.CurrencyBody),
    Route("GET", "/admin/v1/accounts", "listAccounts", "The accounts in id order, a page at a time.",
          list_accounts, _done(wire.AccountsPage), query=_ACCOUNTS_QUERY),
    Route("PUT", _ACCOUNT, "upsertAccount", "Create an account or set whether it is active.", upsert_account,
          (Answer(200, wire.AccountSet, "Updated."), Answer(201, wire.AccountSet, "Created.")),
          body=wire.AccountBody),
    Route("GET", _ACCOUNT, "getAccount", "An account's flex summary and preferences.",
          get_account, _done(wire.AccountView)),
    Route("PUT", f"{_ACCOUNT}/collateral/{{currency}}", "setCollateral", "Set a collateral balance.",
          set_collateral, _done(wire.CollateralSet), body=wire.CollateralBody),
    Route("PUT", f"{_ACCOUNT}/positions/{{symbol}}", "setPosition",
          "Set a position (signed size); a contract in isolated mode gets A = N / L at the mark.",
          set_position, _done(wire.PositionSet), body=wire.PositionBody),
    Route("DELETE", f"{_ACCOUNT}/positions/{{symbol}}", "deletePosition",
          "Delete a position; its allocated margin returns to the cross pool.",
          delete_position, _done(wire.PositionDeleted)),
    Route("GET", f"{_ACCOUNT}/audit", "getAccountAudit", "An account's audit trail.",
          audit, _done(wire.AuditPage), query=_AUDIT_QUERY),
    Route("GET", f"{_ACCOUNT}/pools", "getAccountPools",
          "One account's pools (cross and each isolated), positions with liquidation prices, preferences and keys "
          "(public part only), for the operator console.",
          account_pools, _done(wire.AccountPools)),
    Route("GET", f"{_ACCOUNT}/preview", "previewAccountLeverage",
          "The what-if preview of a leverage change for this account (SPEC §6.1): the same object as "
          "GET /derivatives/api/v3/leveragepreferences/preview answers, without its envelope.",
          preview, _done(PreviewAnswer), query=_PREVIEW_QUERY),
    Route("POST", f"{_ACCOUNT}/keys", "createKey", "Issue an API key; the secret is shown only here.",
          create_key, _done(wire.KeyIssued, 201), body=wire.KeyBody),
    Route("DELETE", "/admin/v1/keys/{public}", "revokeKey", "Revoke an API key.",
          revoke_key, _done(wire.KeyRevoked)),
    Route("GET", "/admin/v1/audit", "getAudit", "The whole audit trail.",
          audit, _done(wire.AuditPage), query=_AUDIT_QUERY),
)  # fmt: skip


# --- the operations routes (no authentication) ------------------------------------------------------------------


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


METRICS: Route[Operations] = Route(
    "GET", "/metrics", "metrics", "Prometheus metrics (text exposition format).", metrics,
    (Answer(200, str, "Metrics.", "text/plain"),), label="metrics", reads_body=False,
)  # fmt: skip
OPERATION_ROUTES: tuple[Route[Operations], ...] = (
    Route("GET", "/health", "health", "Liveness.", health, (Answer(200, wire.Health, "Alive."),), label="health"),
    Route("GET", "/ready", "ready", "Readiness: the database answers.", ready,
          (Answer(200, wire.Ready, "Ready."), Answer(503, wire.Unavailable, "The database does not answer.")),
          label="ready"),
    METRICS,
    Route("GET", "/openapi.json", "openapi", "This document.", openapi,
          (Answer(200, dict[str, Any], "The OpenAPI 3.1 document."),), label="openapi"),
)  # fmt: skip
ADMIN_ROUTER: Router[Admin] = Router(ADMIN_ROUTES)
OPERATIONS_ROUTER: Router[Operations] = Router(OPERATION_ROUTES)

__all__ = ["ADMIN_ROUTER", "ADMIN_ROUTES", "OPERATIONS_ROUTER", "OPERATION_ROUTES", "Admin", "Call", "Operations"]
