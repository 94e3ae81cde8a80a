"""The OpenAPI 3.1 document of every endpoint the server answers, built once and served at ``GET /openapi.json``.

Rules:
- It describes the wire as it is (SPEC §1, §2, §4): success envelopes (never an ``error`` key), shape A (HTTP 200
  generic error), shape B (HTTP 500 business errors, and 404/405/413 with code 0), the admin API's
  ``{"error", "detail"}`` errors, the ``APIKey``/``Authent``/``Nonce`` headers and the admin bearer token.
- Error codes and messages come from ``levpref.errors``, so the document cannot drift from what is raised.
- ``tests/e2e/test_schemathesis.py`` fuzzes a live server against this document: a response outside it fails.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from levpref.adapters import jsonwire
from levpref.adapters.http.render import ROUTING_STATUS
from levpref.errors import (
    AdminError,
    BusinessError,
    ContractDoesNotExist,
    ContractNotMultiCollateral,
    CurrencyDoesNotExist,
    CurrencyNotEnabledForMultiCollateral,
    InsufficientMargin,
    WouldCauseLiquidation,
)

BASE = "/derivatives/api/v3"
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"

# SPEC §1.1: the generic error strings (shape A).
GENERIC_ERRORS = [
    "accountInactive",
    "apiLimitExceeded",
    "authenticationError",
    "insufficientFunds",
    "invalidAccount",
    "invalidAmount",
    "invalidArgument",
    "invalidUnit",
    "Json Parse Error",
    "marketUnavailable",
    "nonceBelowThreshold",
    "nonceDuplicate",
    "notFound",
    "requiredArgumentMissing",
    "Server Error",
    "Unavailable",
    "unknownError",
]
_LEVERAGE_ERRORS: list[type[BusinessError]] = [
    ContractDoesNotExist,
    ContractNotMultiCollateral,
    WouldCauseLiquidation,
    InsufficientMargin,
]
_PNL_ERRORS: list[type[BusinessError]] = [
    ContractDoesNotExist,
    ContractNotMultiCollateral,
    CurrencyDoesNotExist,
    CurrencyNotEnabledForMultiCollateral,
]

_PATH_EXAMPLES = {"account": "alice", "symbol": "PF_XBTUSD", "currency": "USD", "public": "probe-api-key"}
_SERVER_TIME = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"
_SEGMENT = "^[A-Za-z0-9_\\-]{1,64}$"
_PUBLIC_KEY = "^[A-Za-z0-9+/=_\\-]{1,128}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: list[str] | None = None, *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    if closed:
        schema["additionalProperties"] = False
    return schema


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_ACCESS = {"enum": ["full", "read"]}
_DECIMAL_TEXT = {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}
_DECIMAL_IN = {"oneOf": [{"type": "string"}, {"type": "number"}], "description": "a decimal, as a string or a number"}


def _success(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A success envelope with ``payload`` (SPEC §1.1): ``result``/``serverTime`` and never an ``error`` key."""
    return {
        "title": name,
        "type": "object",
        "properties": {"result": {"const": "success"}, "serverTime": _ref("ServerTime"), **payload},
        "required": ["result", "serverTime", *payload],
        "additionalProperties": False,
    }


def _business_error(errors: list[type[BusinessError]]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "status": {"const": "INTERNAL_SERVER_ERROR"},
            "result": {"const": "error"},
            "errors": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1,
                "items": {
                    "oneOf": [_obj({"code": {"const": e.number}, "message": {"const": e.message}}) for e in errors]
                },
            },
            "serverTime": _ref("ServerTime"),
        },
        "required": ["status", "result", "errors", "serverTime"],
        "additionalProperties": False,
    }


def _admin_error_names() -> list[str]:
    names: list[str] = []
    pending: list[type[AdminError]] = [AdminError]
    while pending:
        cls = pending.pop()
        names.append(cls.code)
        pending.extend(cls.__subclasses__())
    return sorted(set(names))


def _schemas() -> dict[str, Any]:
    flex_currency = _obj({"quantity": _NUM, "value": _NUM, "collateral": _NUM, "available": _NUM})
    flex = _obj(
        {
            "type": {"const": "multiCollateralMarginAccount"},
            "currencies": {"type": "object", "additionalProperties": flex_currency},
            **dict.fromkeys(
                (
                    "initialMargin",
                    "initialMarginWithOrders",
                    "maintenanceMargin",
                    "balanceValue",
                    "portfolioValue",
                    "collateralValue",
                    "pnl",
                    "unrealizedFunding",
                    "totalUnrealized",
                    "totalUnrealizedAsMargin",
                    "availableMargin",
                    "marginEquity",
                ),
                _NUM,
            ),
        }
    )
    margin_level = _obj(
        {"numNonContractUnits": _NUM, "contracts": _NUM, "initialMargin": _NUM, "maintenanceMargin": _NUM},
        ["initialMargin", "maintenanceMargin"],
    )
    instrument = _obj(
        {
            "symbol": _STR,
            "type": _STR,
            "pair": _STR,
            "base": _STR,
            "quote": _STR,
            "tickSize": _NUM,
            "contractSize": _NUM,
            "contractValueTradePrecision": _NUM,
            "tradeable": _BOOL,
            "impactMidSize": _NUM,
            "maxPositionSize": _NUM,
            "openingDate": _STR,
            "marginLevels": _array(margin_level),
            "retailMarginLevels": _array(margin_level),
            "fundingRateCoefficient": _NUM,
            "maxRelativeFundingRate": _NUM,
            "postOnly": _BOOL,
            "category": _STR,
            "tags": _array(_STR),
            "tradfi": _BOOL,
            "mtf": _BOOL,
            "lastTradingTime": _STR,
        },
        ["symbol", "type", "tradeable", "marginLevels"],
        closed=False,  # a saved copy of Kraken's real /instruments response may carry more fields
    )
    position = _obj(
        {
            "side": {"enum": ["long", "short"]},
            "symbol": _STR,
            "price": _NUM,
            "fillTime": _STR,
            "size": _NUM,
            "unrealizedFunding": _NUM,
            "pnlCurrency": _STR,
            "maxFixedLeverage": {"type": "number", "minimum": 1},
        },
        ["side", "symbol", "price", "fillTime", "size", "unrealizedFunding", "pnlCurrency"],
    )
    audit_entry = _obj(
        {
            "id": _INT,
            "account": _STR,
            "at": _STR,
            "actor": _STR,
            "action": _STR,
            "symbol": {"type": ["string", "null"]},
            "before": {"type": ["object", "null"]},
            "after": {"type": ["object", "null"]},
            "margin_moved": {"type": ["string", "null"]},
            "request_id": {"type": ["string", "null"]},
        }
    )
    scenario = {
        "type": "object",
        "description": "A whole world (SPEC §4): the same structure as a scenario file; loading replaces the state.",
        "properties": {
            "instruments": _array({"type": "object"}),
            "collateral_currencies": {"type": "object", "additionalProperties": {"type": "object"}},
            "marks": {"type": "object", "additionalProperties": _DECIMAL_IN},
            "accounts": _array({"type": "object"}),
        },
    }
    return {
        "ServerTime": {"type": "string", "pattern": _SERVER_TIME},
        "GenericError": {
            "description": "Shape A: HTTP 200, a generic Kraken error string.",
            **_obj({"result": {"const": "error"}, "serverTime": _ref("ServerTime"), "error": {"enum": GENERIC_ERRORS}}),
        },
        "LeverageBusinessError": {
            "description": "Shape B: HTTP 500, a numbered refusal of PUT leveragepreferences.",
            **_business_error(_LEVERAGE_ERRORS),
        },
        "PnlBusinessError": {
            "description": "Shape B: HTTP 500, a numbered refusal of PUT pnlpreferences.",
            **_business_error(_PNL_ERRORS),
        },
        "RoutingError": {
            "description": "Shape B with code 0: unknown path (404), wrong method (405), body too large (413); "
            "from the HTTP layer: malformed request (400), request not received in time (408), request head too "
            "large (414, 431).",
            **_obj(
                {
                    "status": {"enum": list(ROUTING_STATUS.values())},
                    "result": {"const": "error"},
                    "errors": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1,
                        "items": _obj(
                            {
                                "code": {"const": 0},
                                "message": {"enum": [f"{code} {name}" for code, name in ROUTING_STATUS.items()]},
                            }
                        ),
                    },
                    "serverTime": _ref("ServerTime"),
                }
            ),
        },
        "AdminError": {
            "description": "An admin API refusal: the kind of error and a fixed, non-secret explanation.",
            **_obj({"error": {"enum": _admin_error_names()}, "detail": _STR}),
        },
        "Empty": _success("Empty", {}),
        "LeveragePreferences": _success(
            "LeveragePreferences",
            {"leveragePreferences": _array(_obj({"symbol": _STR, "maxLeverage": {"type": "number", "minimum": 1}}))},
        ),
        "PnlPreferences": _success(
            "PnlPreferences", {"preferences": _array(_obj({"symbol": _STR, "pnlCurrency": _STR}))}
        ),
        "Accounts": _success(
            "Accounts",
            {
                "accounts": _obj(
                    {
                        "cash": _obj({"type": {"const": "cashAccount"}, "balances": {"type": "object"}}),
                        "flex": _ref("Flex"),
                    }
                )
            },
        ),
        "OpenPositions": _success("OpenPositions", {"openPositions": _array(_ref("OpenPosition"))}),
        "Instruments": _success("Instruments", {"instruments": _array(_ref("Instrument"))}),
        "Flex": flex,
        "Instrument": instrument,
        "OpenPosition": position,
        "AuditEntries": _obj(
            {
                "audit": _array(audit_entry),
                "next": {  # where the next page starts (send it as a query parameter), null on the last page
                    "oneOf": [
                        {"type": "null"},
                        _obj({"before_id": _INT}),
                        _obj({"after_id": _INT}),
                    ]
                },
            }
        ),
        "Scenario": scenario,
    }


def _kraken_200(success: str) -> dict[str, Any]:
    return {
        "description": "Success, or a generic error (shape A); both HTTP 200.",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {_JSON: {"schema": {"oneOf": [_ref(success), _ref("GenericError")]}}},
    }


def _response(description: str, schema: dict[str, Any], media_type: str = _JSON) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {media_type: {"schema": schema}},
    }


def _query(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


_SYMBOL = {"type": "string", "maxLength": 64, "examples": ["PF_XBTUSD"]}
_MAX_LEVERAGE = {"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,2})?$", "examples": ["10", "2.5"]}
_CURRENCY = {"type": "string", "maxLength": 16, "examples": ["USD", "BTC"]}
_KRAKEN_SECURITY: list[dict[str, list[str]]] = [
    {"APIKey": [], "Authent": [], "Nonce": []},
    {"APIKey": [], "Authent": []},
]
_TOO_LARGE = {"$ref": "#/components/responses/PayloadTooLarge"}


def _kraken_put(summary: str, params: list[dict[str, Any]], business: str, tag: str) -> dict[str, Any]:
    form = {"type": "object", "properties": {p["name"]: p["schema"] for p in params}}
    return {
        "tags": [tag],
        "summary": summary,
        "security": _KRAKEN_SECURITY,
        "parameters": params,
        "requestBody": {
            "required": False,
            "description": "The parameters may instead come in a form body (not both: a parameter given twice "
            "is invalidArgument). Real clients send the query string and an empty body.",
            "content": {_FORM: {"schema": form}},
        },
        "responses": {
            "200": _kraken_200("Empty"),
            "413": _TOO_LARGE,
            "500": _response("A business error (shape B).", _ref(business)),
        },
    }


def _kraken_get(summary: str, success: str, tag: str, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "tags": [tag],
        "summary": summary,
        "security": _KRAKEN_SECURITY,
        "parameters": params or [],
        "responses": {"200": _kraken_200(success), "413": _TOO_LARGE},
    }


def _admin(
    summary: str,
    ok: dict[str, Any],
    *,
    status: str = "200",
    body: dict[str, Any] | None = None,
    params: tuple[str, ...] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": ["admin"],
        "summary": summary,
        "security": [{"AdminBearer": []}],
        "responses": {
            status: _response("Done.", ok),
            **(extra or {}),
            "400": {"$ref": "#/components/responses/AdminBadRequest"},
            "401": {"$ref": "#/components/responses/AdminUnauthorized"},
            "413": _TOO_LARGE,
        },
    }
    if params:
        operation["responses"]["404"] = {"$ref": "#/components/responses/AdminNotFound"}
        operation["parameters"] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": _PUBLIC_KEY if name == "public" else _SEGMENT},
                "example": _PATH_EXAMPLES[name],
            }
            for name in params
        ]
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {_JSON: {"schema": body}}}
    return operation


def _paths() -> dict[str, Any]:
    symbol_required = _query(
        "symbol", "The contract; case-sensitive. Missing or empty → requiredArgumentMissing.", _SYMBOL, required=True
    )
    leverage = _kraken_put(
        "Set margin mode / max leverage: maxLeverage absent → cross; present → isolated at that leverage.",
        [
            symbol_required,
            _query(
                "maxLeverage",
                "A plain decimal ≥ 1 with at most 2 decimals, within the margin schedule's cap.",
                _MAX_LEVERAGE,
            ),
        ],
        "LeverageBusinessError",
        "leverage preferences",
    )
    pnl = _kraken_put(
        "Set the PnL settlement currency of a contract.",
        [symbol_required, _query("pnlPreference", "A currency code, e.g. USD or BTC.", _CURRENCY, required=True)],
        "PnlBusinessError",
        "pnl preferences",
    )
    s_admin = {"type": "object"}
    ok_json = {"type": "object"}
    return {
        f"{BASE}/leveragepreferences": {
            "put": {**leverage, "operationId": "setLeveragePreference"},
            "get": {
                **_kraken_get(
                    "List isolated-mode preferences (cross is the default and has no entry), sorted by symbol.",
                    "LeveragePreferences",
                    "leverage preferences",
                    [_query("symbol", "Only this contract.", _SYMBOL)],
                ),
                "operationId": "getLeveragePreferences",
            },
        },
        f"{BASE}/pnlpreferences": {
            "put": {**pnl, "operationId": "setPnlPreference"},
            "get": {
                **_kraken_get("List PnL currency preferences.", "PnlPreferences", "pnl preferences"),
                "operationId": "getPnlPreferences",
            },
        },
        f"{BASE}/instruments": {
            "get": {
                "operationId": "getInstruments",
                "tags": ["market"],
                "summary": "The contract list in Kraken's Instrument schema (public).",
                "security": [],
                "responses": {"200": _kraken_200("Instruments"), "413": _TOO_LARGE},
            }
        },
        f"{BASE}/accounts": {
            "get": {
                **_kraken_get("The multi-collateral (flex) account summary.", "Accounts", "account"),
                "operationId": "getAccounts",
            }
        },
        f"{BASE}/openpositions": {
            "get": {
                **_kraken_get(
                    "Open positions, newest fill first; isolated ones carry maxFixedLeverage.",
                    "OpenPositions",
                    "account",
                ),
                "operationId": "getOpenPositions",
            }
        },
        "/admin/v1/scenario": {
            "put": {
                **_admin(
                    "Load a whole world, replacing the state (JSON, or TOML with Content-Type application/toml).",
                    _obj(
                        {
                            "loaded": {"const": True},
                            "keys": _array(_obj({"account": _STR, "public": _STR, "access": _ACCESS})),
                        }
                    ),
                    body=_ref("Scenario"),
                ),
                "operationId": "loadScenario",
                "requestBody": {
                    "required": True,
                    "content": {_JSON: {"schema": _ref("Scenario")}, "application/toml": {"schema": _STR}},
                },
            },
            "get": {
                **_admin("Export the world (key secrets only with ?secrets=true).", _ref("Scenario")),
                "operationId": "exportScenario",
            },
        },
        "/admin/v1/instruments": {
            "put": {
                **_admin(
                    "Load instruments: a Kraken GET /instruments response or a list of instruments.",
                    _obj({"loaded": _INT}),
                    body={"oneOf": [_obj({"instruments": _array(s_admin)}, closed=False), _array(s_admin)]},
                ),
                "operationId": "loadInstruments",
            }
        },
        "/admin/v1/marks/{symbol}": {
            "put": {
                **_admin(
                    "Set a contract's mark price.",
                    _obj({"symbol": _STR, "price": _STR}),
                    body=_obj({"price": _DECIMAL_IN}, closed=False),
                    params=("symbol",),
                ),
                "operationId": "setMark",
            }
        },
        "/admin/v1/currencies/{currency}": {
            "put": {
                **_admin(
                    "List a collateral currency with its USD price and haircut.",
                    _obj({"currency": _STR}),
                    body=_obj({"price": _DECIMAL_IN, "haircut": _DECIMAL_IN}, ["price"], closed=False),
                    params=("currency",),
                ),
                "operationId": "setCurrency",
            }
        },
        "/admin/v1/accounts/{account}": {
            "put": {
                **_admin(
                    "Create an account or set whether it is active (200: updated).",
                    _obj({"account": _STR, "active": _BOOL}),
                    body=_obj({"active": _BOOL}, [], closed=False),
                    params=("account",),
                    extra={
                        "201": _response("Created.", _obj({"account": _STR, "active": _BOOL})),
                    },
                ),
                "operationId": "upsertAccount",
            },
            "get": {
                **_admin(
                    "An account's flex summary and preferences.",
                    _obj(
                        {
                            "account": _STR,
                            "flex": _ref("Flex"),
                            "preferences": _array(
                                _obj(
                                    {
                                        "symbol": _STR,
                                        "max_leverage": {"type": ["string", "null"]},
                                        "pnl_currency": _STR,
                                    }
                                )
                            ),
                        }
                    ),
                    params=("account",),
                ),
                "operationId": "getAccount",
            },
        },
        "/admin/v1/accounts/{account}/collateral/{currency}": {
            "put": {
                **_admin(
                    "Set a collateral balance.",
                    _obj({"account": _STR, "currency": _STR}),
                    body=_obj({"quantity": _DECIMAL_IN}, closed=False),
                    params=("account", "currency"),
                ),
                "operationId": "setCollateral",
            }
        },
        "/admin/v1/accounts/{account}/positions/{symbol}": {
            "put": {
                **_admin(
                    "Set a position (signed size); a contract in isolated mode gets A = N / L at the mark.",
                    _obj({"account": _STR, "symbol": _STR, "allocated_margin": {"type": ["string", "null"]}}),
                    body=_obj({"size": _DECIMAL_IN, "entry_price": _DECIMAL_IN}, closed=False),
                    params=("account", "symbol"),
                ),
                "operationId": "setPosition",
            },
            "delete": {
                **_admin(
                    "Delete a position; its allocated margin returns to the cross pool.",
                    _obj({"account": _STR, "symbol": _STR, "deleted": {"const": True}}),
                    params=("account", "symbol"),
                ),
                "operationId": "deletePosition",
            },
        },
        "/admin/v1/accounts/{account}/audit": {
            "get": {
                **_admin("An account's audit trail.", _ref("AuditEntries"), params=("account",)),
                "operationId": "getAccountAudit",
            }
        },
        "/admin/v1/accounts/{account}/keys": {
            "post": {
                **_admin(
                    "Issue an API key; the secret is shown only here.",
                    _obj({"account": _STR, "public": _STR, "secret": _STR, "access": _ACCESS}),
                    status="201",
                    body=_obj(
                        {"access": _ACCESS, "rate_budget": _INT, "expires_ms": _INT},
                        [],
                        closed=False,
                    ),
                    params=("account",),
                ),
                "operationId": "createKey",
            }
        },
        "/admin/v1/keys/{public}": {
            "delete": {
                **_admin("Revoke an API key.", _obj({"public": _STR, "revoked": {"const": True}}), params=("public",)),
                "operationId": "revokeKey",
            }
        },
        "/admin/v1/audit": {
            "get": {**_admin("The whole audit trail.", _ref("AuditEntries")), "operationId": "getAudit"}
        },
        "/health": {
            "get": {
                "operationId": "health",
                "tags": ["operations"],
                "summary": "Liveness.",
                "security": [],
                "responses": {"200": _response("Alive.", _obj({"status": {"const": "ok"}})), "413": _TOO_LARGE},
            }
        },
        "/ready": {
            "get": {
                "operationId": "ready",
                "tags": ["operations"],
                "summary": "Readiness: the database answers.",
                "security": [],
                "responses": {
                    "200": _response("Ready.", _obj({"status": {"const": "ready"}})),
                    "413": _TOO_LARGE,
                    "503": {
                        "description": "The database does not answer.",
                        "content": {_JSON: {"schema": _obj({"status": {"const": "unavailable"}})}},
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["operations"],
                "summary": "Prometheus metrics (text exposition format).",
                "security": [],
                "responses": {"200": {"description": "Metrics.", "content": {"text/plain": {"schema": _STR}}}},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["operations"],
                "summary": "This document.",
                "security": [],
                "responses": {"200": _response("The OpenAPI 3.1 document.", ok_json), "413": _TOO_LARGE},
            }
        },
    }


def _header_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": schema}


def _with_auth_headers(paths: dict[str, Any]) -> dict[str, Any]:
    """Private Kraken operations also list their auth headers as parameters, so their formats are documented
    (and fuzzed); the security schemes say the same."""
    headers = [
        _header_param("APIKey", "The public API key (56 characters).", {"type": "string", "maxLength": 128}),
        _header_param(
            "Authent",
            "base64(HMAC-SHA512(base64decode(secret), SHA256(postData + nonce + endpointPath))), SPEC §2.1.",
            {"type": "string", "maxLength": 128},
        ),
        _header_param("Nonce", "Optional: a decimal integer of at most 20 digits.", {"type": "string"}),
    ]
    for path, item in paths.items():
        for operation in item.values():
            if path.startswith(BASE) and operation.get("security"):
                operation["parameters"] = [*operation.get("parameters", []), *headers]
    return paths


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh structure on every call)."""
    routing = _response("Body too large (shape B, code 0).", _ref("RoutingError"))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "levpref",
            "version": "0.1.0",
            "summary": "A wire-compatible Kraken Futures leverage-preferences server, with an admin API.",
            "description": "Kraken endpoints answer success and generic errors (shape A) with HTTP 200, the "
            "preference endpoints' numbered business errors (shape B) with HTTP 500, and unknown paths / wrong "
            "methods / bodies over the limit with 404 / 405 / 413 in shape B with code 0. A success body never "
            "has an error key. The admin API under /admin/v1 answers JSON errors {error, detail}.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "leverage preferences"},
            {"name": "pnl preferences"},
            {"name": "account"},
            {"name": "market"},
            {"name": "admin"},
            {"name": "operations"},
        ],
        "paths": _with_auth_headers(_paths()),
        "components": {
            "schemas": _schemas(),
            "headers": {
                "X-Request-Id": {
                    "description": "The request id, also in the server's logs.",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
                }
            },
            "responses": {
                "PayloadTooLarge": routing,
                "AdminBadRequest": _response("Bad input; nothing changed.", _ref("AdminError")),
                "AdminUnauthorized": _response("Missing or wrong bearer token.", _ref("AdminError")),
                "AdminNotFound": _response(
                    "No such object (AdminError), or a path that matches no route (shape B, code 0).",
                    {"oneOf": [_ref("AdminError"), _ref("RoutingError")]},
                ),
            },
            "securitySchemes": {
                "APIKey": {"type": "apiKey", "in": "header", "name": "APIKey", "description": "Kraken public key."},
                "Authent": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authent",
                    "description": "The request signature (SPEC §2.1): over the raw query string exactly as sent, "
                    "then the raw body, the nonce and the path without /derivatives.",
                },
                "Nonce": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Nonce",
                    "description": "Optional, a decimal integer of at most 20 digits; unique per key (SPEC §2.2).",
                },
                "AdminBearer": {"type": "http", "scheme": "bearer", "description": "The admin token."},
            },
        },
    }


@cache
def document_bytes() -> bytes:
    """The served JSON, built once per process."""
    return jsonwire.dumps(document())


__all__ = ["GENERIC_ERRORS", "document", "document_bytes"]
