"""The operations routes come from the same route table as the admin API: documented methods answer, others 405."""

from __future__ import annotations

import httpx

from levpref.adapters.http.admin_routes import ADMIN_ROUTES, OPERATION_ROUTES


def test_the_operations_routes_answer_their_documented_method_and_405_to_another(http: httpx.Client) -> None:
    assert http.get("/health").content == b'{"status":"ok"}'
    assert http.get("/ready").content == b'{"status":"ready"}'
    assert http.get("/metrics").headers["content-type"].startswith("text/plain")
    assert http.get("/openapi.json").json()["openapi"] == "3.1.0"
    for path in ("/health", "/ready", "/openapi.json"):  # HEAD is GET without the body (probes send it)
        head = http.head(path)
        assert (head.status_code, head.content) == (200, b""), path
    for path in ("/health", "/ready", "/metrics", "/openapi.json"):
        refused = http.post(path)
        assert refused.status_code == 405, path
        assert refused.json()["errors"] == [{"code": 0, "message": "405 METHOD_NOT_ALLOWED"}]


def test_every_admin_and_operations_operation_is_in_the_served_document(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for route in (*ADMIN_ROUTES, *OPERATION_ROUTES):
        assert paths[route.path][route.method.lower()]["operationId"] == route.operation_id
