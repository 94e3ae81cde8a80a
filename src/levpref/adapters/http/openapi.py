"""The OpenAPI 3.1 document of every endpoint the server answers, built once and served at ``GET /openapi.json``.

Generated: the paths from the route tables (``routes.KRAKEN_ROUTES``, ``admin_routes.ADMIN_ROUTES`` and
``OPERATION_ROUTES``) and every body schema from the Structs (``adapters/wire/kraken.py``, ``adapters/wire/admin.py``,
the scenario document of ``adapters/wire/scenario.py``) with msgspec's JSON Schema support. Written here: the
document's frame (descriptions, the shared responses, the security schemes).

Rules:
- It describes the wire as it is (SPEC §1, §2, §4): success envelopes (never an ``error`` key), shape A (HTTP 200
  generic error), shape B (HTTP 500 business errors, and 404/405/413 with code 0), the admin API's
  ``{"error", "detail"}`` errors, the ``APIKey``/``Authent``/``Nonce`` headers and the admin bearer token.
- Every success object is closed (``additionalProperties: false``) but Kraken's passthrough Instrument.
- Error codes and messages come from ``levpref.errors``, so the document cannot drift from what is raised.
- ``tests/e2e/test_schemathesis.py`` fuzzes a live server against this document: a response outside it fails.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import cache
from typing import Any

import msgspec

from levpref.adapters import jsonwire
from levpref.adapters.http import openapi_kraken
from levpref.adapters.http.admin_routes import ADMIN_ROUTES, OPERATION_ROUTES, Route
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.numbers import PLAIN
from levpref.errors import AdminError

JSON = openapi_kraken.JSON
REF = openapi_kraken.REF
_ROUTES: tuple[Route[Any], ...] = (*ADMIN_ROUTES, *OPERATION_ROUTES)
_DECIMAL_TEXT = {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}


def _admin_error_names() -> list[str]:
    names: list[str] = []
    pending: list[type[AdminError]] = [AdminError]
    while pending:
        cls = pending.pop()
        names.append(cls.code)
        pending.extend(cls.__subclasses__())
    return sorted(set(names))


def _decimal_input(kind: type) -> dict[str, Any]:
    """The schema of a checked wire number (``adapters/wire/numbers.py``): a JSON number or a plain string; of
    ``object`` (a Kraken instrument field levpref passes through): anything."""
    if kind is object:
        return {"description": "any value (passed through as given)"}
    if not issubclass(kind, Decimal):
        raise NotImplementedError(kind)
    return {"oneOf": [_DECIMAL_TEXT, {"type": "number"}], "description": f"{PLAIN}: {kind.__doc__}"}


def _types() -> list[Any]:
    """Every body type of the admin and operations routes, once."""
    kinds = [wire.AdminErrorBody]
    for route in _ROUTES:
        kinds += [answer.type for answer in route.answers] + ([route.body] if route.body is not None else [])
    return list(dict.fromkeys(kinds))


@cache
def _generated() -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """The schema of each body type, and the components they refer to."""
    kinds = _types()
    inline, components = msgspec.json.schema_components(kinds, schema_hook=_decimal_input, ref_template=REF)
    components = openapi_kraken.closed(components)
    components["AdminErrorBody"]["properties"]["error"] = {"enum": _admin_error_names()}
    components["AuditCursor"] |= {"minProperties": 1, "maxProperties": 1}  # exactly one of the two
    return dict(zip(kinds, inline, strict=True)), components


def _merged(kraken: dict[str, Any], admin: dict[str, Any]) -> dict[str, Any]:
    """One components table; a Struct both halves use (``FlexAccount``) must be described alike."""
    for name in kraken.keys() & admin.keys():
        assert kraken[name] == admin[name], f"two schemas named {name}"
    return {**kraken, **admin}


def _parameters(route: Route[Any]) -> list[dict[str, Any]]:
    path = [
        {"name": p.name, "in": "path", "required": True, "schema": {"type": "string", "pattern": f"^{p.pattern}$"},
         "example": p.example}
        for p in route.path_params
    ]  # fmt: skip
    query = [
        {"name": q.name, "in": "query", "required": q.required, "description": q.description, "schema": q.schema}
        for q in route.query
    ]
    return path + query


def _responses(route: Route[Any], admin: bool) -> dict[str, Any]:
    schema_of = _generated()[0]
    out = {
        str(a.status): openapi_kraken.response(a.description, schema_of[a.type], a.media_type) for a in route.answers
    }
    if admin:
        out |= {status: {"$ref": f"#/components/responses/{name}"} for status, name in _ADMIN_REFUSALS.items()}
        if route.path_params:
            out["404"] = {"$ref": "#/components/responses/AdminNotFound"}
    if route.reads_body:
        out["413"] = openapi_kraken.TOO_LARGE
    return out


_ADMIN_REFUSALS = {"400": "AdminBadRequest", "401": "AdminUnauthorized", "429": "AdminRateLimited"}


def _operation(route: Route[Any], admin: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": ["admin" if admin else "operations"],
        "summary": route.summary,
        "security": [{"AdminBearer": []}] if admin else [],
        "responses": _responses(route, admin),
    }
    if route.path_params or route.query:
        operation["parameters"] = _parameters(route)
    if route.body is not None:
        content = {JSON: {"schema": _generated()[0][route.body]}}
        if route.toml:
            content["application/toml"] = {"schema": {"type": "string"}}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def _paths() -> dict[str, Any]:
    out: dict[str, Any] = openapi_kraken.paths()
    for route in _ROUTES:
        out.setdefault(route.path, {})[route.method.lower()] = _operation(route, route in ADMIN_ROUTES)
    return out


def _admin_response(description: str) -> dict[str, Any]:
    return openapi_kraken.response(description, openapi_kraken.ref("AdminErrorBody"))


_INFO = {
    "title": "levpref",
    "version": "0.1.0",
    "summary": "A wire-compatible Kraken Futures leverage-preferences server, with an admin API.",
    "description": "Kraken endpoints answer success and generic errors (shape A) with HTTP 200, the preference "
    "endpoints' numbered business errors (shape B) with HTTP 500, and unknown paths / wrong methods / bodies over "
    "the limit with 404 / 405 / 413 in shape B with code 0. A success body never has an error key. The admin API "
    "under /admin/v1 answers JSON errors {error, detail}.",
}
_TAGS = ["leverage preferences", "pnl preferences", "account", "market", "admin", "operations"]
_SECURITY_SCHEMES = {
    "APIKey": {"type": "apiKey", "in": "header", "name": "APIKey", "description": "Kraken public key."},
    "Authent": {
        "type": "apiKey",
        "in": "header",
        "name": "Authent",
        "description": "The request signature (SPEC §2.1): over the raw query string exactly as sent, then the raw "
        "body, the nonce and the path without /derivatives.",
    },
    "Nonce": {
        "type": "apiKey",
        "in": "header",
        "name": "Nonce",
        "description": "Optional, a decimal integer of at most 20 digits; unique per key (SPEC §2.2).",
    },
    "AdminBearer": {"type": "http", "scheme": "bearer", "description": "The admin token."},
}


def _responses_components() -> dict[str, Any]:
    either = {"oneOf": [openapi_kraken.ref("AdminErrorBody"), openapi_kraken.ref("RoutingError")]}
    return {
        "PayloadTooLarge": openapi_kraken.response(
            "Body too large (shape B, code 0).", openapi_kraken.ref("RoutingError")
        ),
        "AdminBadRequest": _admin_response("Bad input; nothing changed."),
        "AdminUnauthorized": _admin_response("Missing or wrong bearer token."),
        "AdminRateLimited": _admin_response(
            "Too many failed admin authentications from this address (20 a minute by default)."
        ),
        "AdminNotFound": openapi_kraken.response(
            "No such object (AdminErrorBody), or a path that matches no route (shape B, code 0).", either
        ),
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh structure on every call)."""
    request_id = {"description": "The request id, also in the server's logs.", "required": True,
                  "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}  # fmt: skip
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": _INFO,
            "servers": [{"url": "/"}],
            "tags": [{"name": name} for name in _TAGS],
            "paths": _paths(),
            "components": {
                "schemas": _merged(openapi_kraken.components(), _generated()[1]),
                "headers": {"X-Request-Id": request_id},
                "responses": _responses_components(),
                "securitySchemes": _SECURITY_SCHEMES,
            },
        }
    )


@cache
def document_bytes() -> bytes:
    """The served JSON, built once per process."""
    return jsonwire.dumps(document())


__all__ = ["document", "document_bytes"]
