"""The OpenAPI 3.1 document of every endpoint the server answers, built once and served at ``GET /openapi.json``.

The Kraken part is generated: its paths from the route table (``routes.KRAKEN_ROUTES``) and its schemas from the
response Structs (``adapters/wire/kraken.py``) with msgspec's JSON Schema support; only descriptions and the
passthrough Instrument schema are written here. The admin part is written here (its bodies are the Structs of
``adapters/wire/admin.py``).

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
from levpref.adapters.http import openapi_kraken
from levpref.errors import AdminError

BASE = "/derivatives/api/v3"
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"

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


def _admin_error_names() -> list[str]:
    names: list[str] = []
    pending: list[type[AdminError]] = [AdminError]
    while pending:
        cls = pending.pop()
        names.append(cls.code)
        pending.extend(cls.__subclasses__())
    return sorted(set(names))


def _schemas() -> dict[str, Any]:
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
        "AdminError": {
            "description": "An admin API refusal: the kind of error and a fixed, non-secret explanation.",
            **_obj({"error": {"enum": _admin_error_names()}, "detail": _STR}),
        },
        "Instrument": instrument,
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


def _response(description: str, schema: dict[str, Any], media_type: str = _JSON) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {media_type: {"schema": schema}},
    }


_TOO_LARGE = {"$ref": "#/components/responses/PayloadTooLarge"}


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
            "429": {"$ref": "#/components/responses/AdminRateLimited"},
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
    s_admin = {"type": "object"}
    ok_json = {"type": "object"}
    return {
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
        "/admin/v1/accounts": {
            "get": {
                **_admin(
                    "The accounts in id order, a page at a time (?after=<id>&limit=<1..1000>).",
                    _obj(
                        {
                            "accounts": _array(_obj({"id": _STR, "active": _BOOL})),
                            "next": {"oneOf": [{"type": "null"}, _obj({"after": _STR})]},
                        }
                    ),
                ),
                "operationId": "listAccounts",
            }
        },
        "/admin/v1/accounts/{account}/pools": {
            "get": {
                **_admin(
                    "One account's pools (cross and each isolated), positions with liquidation prices, "
                    "preferences and keys (public part only), for the operator console.",
                    {"type": "object"},
                    params=("account",),
                ),
                "operationId": "getAccountPools",
            }
        },
        "/admin/v1/accounts/{account}/preview": {
            "get": {
                **_admin(
                    "The what-if preview of a leverage change for this account (SPEC §6.1): the same object as "
                    "GET /derivatives/api/v3/leveragepreferences/preview answers, without its envelope.",
                    _ref("PreviewAnswer"),
                    params=("account",),
                ),
                "operationId": "previewAccountLeverage",
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
                            "flex": _ref("FlexAccount"),
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
        "paths": {**openapi_kraken.paths(), **_paths()},
        "components": {
            "schemas": {**openapi_kraken.components(), **_schemas()},
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
                "AdminRateLimited": _response(
                    "Too many failed admin authentications from this address (20 a minute by default).",
                    _ref("AdminError"),
                ),
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


__all__ = ["document", "document_bytes"]
