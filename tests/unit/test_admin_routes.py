"""The admin route table: dispatch, 404/405 and the OpenAPI document are derived from it, and the golden admin
answers validate against the generated schemas."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any, cast

import jsonschema_rs
import pytest

from levpref.adapters.http import openapi
from levpref.adapters.http.admin import AdminApi
from levpref.adapters.http.admin_routes import ADMIN_ROUTER, ADMIN_ROUTES, OPERATION_ROUTES, compile_template

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "responses.json"
_ALL = (*ADMIN_ROUTES, *OPERATION_ROUTES)


def _answer(method: str, path: str) -> tuple[int, bytes]:
    """What the admin API answers before it looks at the token or touches the service."""
    api = AdminApi(cast(Any, None), cast(Any, None), "0" * 64)
    return asyncio.run(api.handle(method, path, b"", {}, "r"))


def test_an_unknown_admin_path_is_404_and_a_known_one_with_another_method_is_405() -> None:
    assert _answer("GET", "/admin/v1/nope")[0] == 404
    assert _answer("GET", "/admin/v1/accounts/alice/positions")[0] == 404
    assert _answer("DELETE", "/admin/v1/scenario")[0] == 405
    assert _answer("GET", "/admin/v1/keys/abc")[0] == 405
    assert b"METHOD_NOT_ALLOWED" in _answer("POST", "/admin/v1/accounts/alice")[1]


def test_a_path_parameter_is_one_segment_as_sent() -> None:
    assert _answer("DELETE", "/admin/v1/keys/a%2Fb")[0] == 404  # a percent-encoded "/" matches no parameter
    found = ADMIN_ROUTER.lookup("/admin/v1/accounts/alice/positions/PF_XBTUSD")
    assert found is not None
    assert found.path == {"account": "alice", "symbol": "PF_XBTUSD"}
    assert set(found.methods) == {"PUT", "DELETE"}


def test_a_template_compiles_to_one_named_group_per_parameter() -> None:
    pattern = compile_template("/admin/v1/accounts/{account}/collateral/{currency}")
    assert pattern.groupindex.keys() == {"account", "currency"}
    assert pattern.fullmatch("/admin/v1/accounts/a.b/collateral/USD") is not None
    assert pattern.fullmatch("/admin/v1/accounts/a/b/collateral/USD") is None


def test_every_route_row_is_one_operation_of_the_document() -> None:
    paths = openapi.document()["paths"]
    for route in _ALL:
        operation = paths[route.path][route.method.lower()]
        assert operation["operationId"] == route.operation_id
        assert operation["summary"] == route.summary
        assert {str(a.status) for a in route.answers} <= operation["responses"].keys()
        documented = {p["name"] for p in operation.get("parameters", [])}
        assert documented == {p.name for p in route.path_params} | set(route.query_names)
    operation_ids = [op["operationId"] for methods in paths.values() for op in methods.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_admin_success_object_is_closed() -> None:
    schemas = openapi.document()["components"]["schemas"]
    for route in _ALL:
        for answer in route.answers:
            name = getattr(answer.type, "__name__", None)
            if name in schemas:
                assert schemas[name]["additionalProperties"] is False, name


def _schema(document: dict[str, Any], operation: dict[str, Any], status: int) -> dict[str, Any]:
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return cast(dict[str, Any], response["content"]["application/json"]["schema"])


def _golden_answers() -> list[tuple[str, str, str, int, str]]:
    recorded = json.loads(GOLDEN.read_text())
    out = []
    for name, entry in recorded.items():
        method, target = entry["request"].split(" ", 2)[:2]
        out.append((name, method, target.split("?", 1)[0], entry["status"], entry["body"]))
    return out


@pytest.mark.parametrize(("name", "method", "path", "status", "body"), _golden_answers())
def test_every_golden_answer_validates_against_the_generated_schema(
    name: str, method: str, path: str, status: int, body: str
) -> None:
    document = openapi.document()
    sent = path.replace("<generated-public>", "k")
    template = next((t for t in document["paths"] if compile_template(t).fullmatch(sent)), None)
    body = re.sub(r'"serverTime":"<masked>"', '"serverTime":"2026-01-01T00:00:00.000Z"', body)
    if template is None:  # no route: a routing error
        assert status == 404
        return
    methods = document["paths"][template]
    if method.lower() not in methods:
        assert status == 405
        return
    errors = _errors(document, _schema(document, methods[method.lower()], status), json.loads(body))
    assert errors == [], f"{name}: {errors[:3]}"


def _errors(document: dict[str, Any], schema: dict[str, Any], body: object) -> list[str]:
    """``body`` checked against ``schema``, whose ``$ref``s point into the document."""
    validator = jsonschema_rs.Draft202012Validator({**document, **schema})
    return [str(e) for e in validator.iter_errors(body)]


def test_the_schema_check_refuses_what_the_wire_never_sends() -> None:
    document = openapi.document()
    marks = document["paths"]["/admin/v1/marks/{symbol}"]["put"]
    assert _errors(document, _schema(document, marks, 200), {"symbol": "PF_XBTUSD", "price": "1"}) == []
    assert _errors(document, _schema(document, marks, 200), {"symbol": "PF_XBTUSD", "price": "1", "error": None})
    assert _errors(document, _schema(document, marks, 400), {"error": "nope", "detail": "x"})
    audit = document["paths"]["/admin/v1/audit"]["get"]
    assert _errors(document, _schema(document, audit, 200), {"audit": [], "next": {}})
