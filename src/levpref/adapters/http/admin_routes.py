"""The one table of the admin API (SPEC §4) and of the operations routes: method and path template → handler,
request body type, answers (status → Struct), path and query parameters.

The admin dispatch (``admin.py``: 404 for an unknown path, 405 for a known path and another method), the dispatch of
the operations routes (``app.py``), their metrics labels and their part of the OpenAPI document (``openapi.py``)
are all derived from ``ADMIN_ROUTES`` and ``OPERATION_ROUTES``. Adding an endpoint means one row here, its handler
(``admin_handlers.py``) and its Structs (``adapters/wire/admin.py``).

Rules:
- A path template's ``{name}`` is a path parameter of ``PATH_PARAMS``: its pattern matches one segment of the path
  as sent (a percent-encoded ``/`` is not a separator). Templates are compiled once, by ``Router``.
- A route with query parameters refuses any other and any given twice (``wire.audit.parameters``); a route
  without ignores its query string.
- A handler answers a Struct (sent with the route's first status), or a Struct and one of the route's statuses.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import Meta

from levpref.adapters import jsonwire
from levpref.adapters.http.admin_handlers import (
    Admin,
    Call,
    Operations,
    Page,
    Reply,
    account_pools,
    audit,
    create_key,
    delete_position,
    export_scenario,
    get_account,
    health,
    list_accounts,
    load_instruments,
    load_scenario,
    metrics,
    openapi,
    preview,
    ready,
    revoke_key,
    set_collateral,
    set_currency,
    set_mark,
    set_position,
    upsert_account,
)
from levpref.adapters.http.render import Response
from levpref.adapters.http.routes import QueryParam
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.audit import ACTION_PATTERN, ID_PATTERN, SYMBOL_PATTERN
from levpref.adapters.wire.kraken import PreviewAnswer
from levpref.adapters.wire.scenario import InstrumentsDoc, ScenarioDoc
from levpref.service.audit_log import MAX_LIMIT
from levpref.service.operator import MAX_ACCOUNTS_PAGE

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

__all__ = [
    "ADMIN_ROUTER",
    "ADMIN_ROUTES",
    "METRICS",
    "OPERATIONS_ROUTER",
    "OPERATION_ROUTES",
    "PATH_PARAMS",
    "Answer",
    "PathParam",
    "Route",
    "Router",
    "compile_template",
    "respond",
]
