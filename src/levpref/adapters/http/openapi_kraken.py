"""The Kraken part of the OpenAPI document, generated from the route table and the response Structs.

Nothing about a Kraken endpoint is written here: its path, method, summary, parameters, auth and business errors
come from ``routes.KRAKEN_ROUTES``; every body schema from ``adapters/wire/kraken.py`` through msgspec's
``schema_components``; the error codes from ``levpref.errors``. The one exception is Kraken's Instrument, which
levpref passes through as loaded: ``Instrument`` below describes it (a schema, never encoded).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

from levpref.adapters.http.render import ROUTING_STATUS
from levpref.adapters.http.routes import KRAKEN_ROUTES, KrakenRoute
from levpref.adapters.wire import kraken as wire
from levpref.errors import BusinessError

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
REF = "#/components/schemas/{name}"
SECURITY: list[dict[str, list[str]]] = [{"APIKey": [], "Authent": [], "Nonce": []}, {"APIKey": [], "Authent": []}]
TOO_LARGE = {"$ref": "#/components/responses/PayloadTooLarge"}
_AUTH_HEADERS = [
    {"name": "APIKey", "in": "header", "required": False, "description": "The public API key (56 characters).",
     "schema": {"type": "string", "maxLength": 128}},
    {"name": "Authent", "in": "header", "required": False,
     "description": "base64(HMAC-SHA512(base64decode(secret), SHA256(postData + nonce + endpointPath))), SPEC §2.1.",
     "schema": {"type": "string", "maxLength": 128}},
    {"name": "Nonce", "in": "header", "required": False,
     "description": "Optional: a decimal integer of at most 20 digits.", "schema": {"type": "string"}},
]  # fmt: skip


class MarginLevel(Struct):
    initialMargin: float
    maintenanceMargin: float
    numNonContractUnits: float | UnsetType = UNSET
    contracts: float | UnsetType = UNSET


class Instrument(Struct):
    """A contract in Kraken's Instrument schema (a saved copy of Kraken's response may carry more fields)."""

    symbol: str
    type: str
    tradeable: bool
    marginLevels: list[MarginLevel]
    pair: str | UnsetType = UNSET
    base: str | UnsetType = UNSET
    quote: str | UnsetType = UNSET
    tickSize: float | UnsetType = UNSET
    contractSize: float | UnsetType = UNSET
    contractValueTradePrecision: float | UnsetType = UNSET
    impactMidSize: float | UnsetType = UNSET
    maxPositionSize: float | UnsetType = UNSET
    openingDate: str | UnsetType = UNSET
    retailMarginLevels: list[MarginLevel] | UnsetType = UNSET
    fundingRateCoefficient: float | UnsetType = UNSET
    maxRelativeFundingRate: float | UnsetType = UNSET
    postOnly: bool | UnsetType = UNSET
    category: str | UnsetType = UNSET
    tags: list[str] | UnsetType = UNSET
    tradfi: bool | UnsetType = UNSET
    mtf: bool | UnsetType = UNSET
    lastTradingTime: str | UnsetType = UNSET


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(name=name)}


def _decimals_as_numbers(node: object) -> None:
    """The encoder writes every Decimal as a JSON number (``decimal_format="number"``); msgspec describes one as a
    string of format decimal."""
    if isinstance(node, dict):
        if node.get("format") == "decimal":
            del node["format"]
            node["type"] = "number"
        for value in node.values():
            _decimals_as_numbers(value)
    elif isinstance(node, list):
        for value in node:
            _decimals_as_numbers(value)


def closed(schemas: dict[str, Any]) -> dict[str, Any]:
    """Every Struct's object schema is closed: a success body with an ``error`` key would not validate. Decimals
    are numbers, as encoded."""
    _decimals_as_numbers(schemas)
    for schema in schemas.values():
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
    return schemas


def _numbered(name: str, description: str, codes: list[tuple[int, str]], statuses: list[str]) -> dict[str, Any]:
    """``NumberedError`` narrowed to the given codes and statuses (one refusal per body)."""
    return {
        "description": description,
        "allOf": [ref("NumberedError")],
        "properties": {
            "status": {"enum": statuses},
            "errors": {
                "minItems": 1,
                "maxItems": 1,
                "items": {"oneOf": [{"properties": {"code": {"const": c}, "message": {"const": m}}} for c, m in codes]},
            },
        },
        "title": name,
    }


def _business_name(route: KrakenRoute) -> str:
    return f"{route.operation_id[0].upper()}{route.operation_id[1:]}BusinessError"


def components() -> dict[str, Any]:
    """The schemas of every Kraken body: generated, plus each route's narrowed business error and RoutingError."""
    _, schemas = msgspec.json.schema_components(
        (*wire.SUCCESS_TYPES, *wire.ANSWER_TYPES, *wire.ERROR_TYPES), ref_template=REF
    )
    schemas = closed(schemas)
    schemas["GenericError"]["properties"]["error"] = {"enum": wire.GENERIC_ERRORS}
    schemas["Instruments"]["properties"]["instruments"] = {"type": "array", "items": ref("Instrument")}
    schemas |= msgspec.json.schema_components((Instrument,), ref_template=REF)[1]  # open: not closed
    for route in KRAKEN_ROUTES:
        if route.business_errors:
            codes = [(e.number, e.message) for e in route.business_errors]
            schemas[_business_name(route)] = _numbered(
                _business_name(route), f"Shape B: HTTP 500, a numbered refusal of {route.label}.", codes,
                ["INTERNAL_SERVER_ERROR"],
            )  # fmt: skip
    schemas["RoutingError"] = _numbered(
        "RoutingError",
        "Shape B with code 0: unknown path (404), wrong method (405), body too large (413); from the HTTP layer: "
        "malformed request (400), request not received in time (408), too many connections (429), request head "
        "too large (414, 431), too many requests in progress (503).",
        [(0, f"{code} {name}") for code, name in ROUTING_STATUS.items()],
        list(ROUTING_STATUS.values()),
    )
    return schemas


def response(description: str, schema: dict[str, Any], media_type: str = JSON) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {media_type: {"schema": schema}},
    }


def _operation(route: KrakenRoute) -> dict[str, Any]:
    params = [
        {"name": p.name, "in": "query", "required": p.required, "description": p.description, "schema": p.schema}
        for p in route.params
    ]
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.tag],
        "summary": route.summary,
        "security": SECURITY if route.endpoint is not None else [],
        "parameters": [*params, *(_AUTH_HEADERS if route.endpoint is not None else [])],
        "responses": {
            "200": response(
                "Success, or a generic error (shape A); both HTTP 200.",
                {"oneOf": [ref(route.response.__name__), ref("GenericError")]},
            ),
            "413": TOO_LARGE,
        },
    }
    if route.method == "PUT":
        form = {"type": "object", "properties": {p.name: p.schema for p in route.params}}
        operation["requestBody"] = {
            "required": False,
            "description": "The parameters may instead come in a form body, only when the query string is empty "
            "(both → invalidArgument, SPEC §2.4). Real clients send the query string and an empty body.",
            "content": {FORM: {"schema": form}},
        }
    if route.business_errors:
        operation["responses"]["500"] = response("A business error (shape B).", ref(_business_name(route)))
    return operation


def paths() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for route in KRAKEN_ROUTES:
        out.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return out


def business_errors() -> list[type[BusinessError]]:
    """Every business error some route can answer (for the documentation of the error table)."""
    return sorted({e for r in KRAKEN_ROUTES for e in r.business_errors}, key=lambda e: e.number)
