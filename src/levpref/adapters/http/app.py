"""The ASGI application: routing, request parsing and the one error renderer.

Rules:
- Paths match exactly (no trailing-slash or case folding); unknown path → 404, wrong method → 405 (shape B).
- Kraken requests reach the service as received (raw query, raw body, headers): it parses parameters only after
  the signature is verified (``auth/params.py``). A header the service needs that is given twice makes the request
  unauthenticated (it is passed as absent and flagged, never as an in-band marker).
- Behind a proxy (``trust_forwarded``) the client address is the entry the ``trusted_hops``-th proxy from us
  appended to ``X-Forwarded-For`` (the client chooses every entry to its left); with fewer entries than trusted
  hops, the TCP peer.
- No request produces a traceback: an unexpected fault is logged with its request id and answers
  shape A ``Server Error``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from levpref.adapters.http import console, observability, openapi, render, routes
from levpref.adapters.http.admin import AdminApi
from levpref.adapters.http.admin_handlers import Call, Operations, Page
from levpref.adapters.http.admin_routes import METRICS, OPERATIONS_ROUTER, respond
from levpref.adapters.http.asgi import BodyTooLarge, ClientDisconnected, Receive, Scope, Send, read_body, send_json
from levpref.errors import FailedAuthLimitExceeded, LevprefError
from levpref.service.audit import iso_time
from levpref.service.kraken import KrakenRequest, KrakenService

log = logging.getLogger("levpref.http")


def _headers(scope: Scope) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in scope["headers"]:
        out.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return out


def _one(headers: dict[str, list[str]], name: str) -> str | None:
    """The header's one value; ``None`` when absent or given more than once (see ``_duplicated``)."""
    values = headers.get(name)
    return values[0] if values and len(values) == 1 else None


_AUTH_HEADERS = ("apikey", "authent", "nonce")


def _duplicated(headers: dict[str, list[str]]) -> bool:
    return any(len(headers.get(name, ())) > 1 for name in _AUTH_HEADERS)


class RequestIds:
    """Request ids unique across processes without a syscall per request: 8 random hex digits chosen once per
    process, then a counter (16 hex digits in all)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._count = 0

    def next(self) -> str:
        self._count = (self._count + 1) & 0xFFFFFFFF
        return f"{self._prefix}{self._count:08x}"


@dataclass(slots=True)
class Trace:
    """What the edge learns about a request while answering it, for metrics and the access log."""

    request_id: str
    endpoint: str = "other"
    outcome: str = ""
    limit_scope: str | None = None


class LevprefApp:
    def __init__(
        self,
        kraken: KrakenService,
        admin: AdminApi,
        *,
        max_body: int = 65536,
        trust_forwarded: bool = False,
        trusted_hops: int = 1,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.kraken = kraken
        self.admin = admin
        self.max_body = max_body
        self.trust_forwarded = trust_forwarded
        self.trusted_hops = trusted_hops
        self._on_shutdown = on_shutdown
        self._request_ids = RequestIds()
        self._operations = Operations(kraken.ping, openapi.document_bytes, observability.exposition)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        trace = Trace(self._request_ids.next())
        started = time.perf_counter()
        if scope["path"] == METRICS.path and scope["method"] == METRICS.method:  # answered before the body is read
            page = await METRICS.handler(self._operations, Call({}, {}, b"", "", trace.request_id))
            assert isinstance(page, Page)
            await send_json(send, 200, page.body, trace.request_id, content_type=page.content_type)
            return
        if console.is_console(scope["path"]):
            await self._console(scope, send, trace.request_id)
            return
        try:
            status, body = await self._dispatch(scope, receive, trace)
        except Exception:  # the last line of defence: never a traceback on the wire
            log.exception("unhandled error", extra={"request_id": trace.request_id})
            status, body = render.kraken_error(LevprefError())
            trace.outcome = "Server Error"
        elapsed = time.perf_counter() - started
        outcome = trace.outcome or ("success" if status == 200 else str(status))
        observability.observe(trace.endpoint, outcome, elapsed, limit_scope=trace.limit_scope)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "request_id": trace.request_id,
                    "method": scope["method"],
                    "path": scope["path"][:200],
                    "status": status,
                    "outcome": outcome,
                    "duration_ms": round(elapsed * 1000, 3),
                    "client": self._client_ip(scope, {}),
                },
            )
        await send_json(send, status, body, trace.request_id)

    async def _console(self, scope: Scope, send: Send, request_id: str) -> None:
        found = console.asset(scope["path"])
        if found is None or scope["method"] not in ("GET", "HEAD"):
            status, body = render.routing_error(404 if found is None else 405)
            await send_json(send, status, body, request_id)
            return
        page, content_type = found
        await send_json(send, 200, page, request_id, content_type=content_type, extra_headers=console.HEADERS)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown is not None:
                    await self._on_shutdown()  # e.g. close the database pool, so PostgreSQL sees a clean goodbye
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _dispatch(self, scope: Scope, receive: Receive, trace: Trace) -> render.Response:
        request_id = trace.request_id
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            body = await read_body(receive, self.max_body)
        except BodyTooLarge:
            return render.routing_error(413)
        except ClientDisconnected:
            return render.routing_error(400)  # nobody will read it: the connection is gone
        headers = _headers(scope)
        if path.startswith("/admin/"):
            trace.endpoint = "admin"
            # route on the path as sent: a percent-encoded "/" inside an id is not a separator
            raw_path = (scope.get("raw_path") or path.encode()).decode("latin-1")
            query = bytes(scope.get("query_string", b"")).decode("latin-1")
            client = self._client_ip(scope, headers)
            return await self.admin.handle(method, raw_path, body, headers, request_id, query, client)
        operation = OPERATIONS_ROUTER.lookup(path)
        if operation is not None:
            trace.endpoint = next(iter(operation.methods.values())).label
            served = operation.methods.get("GET" if method == "HEAD" else method)  # HEAD: a GET without its body
            if served is None:
                return render.routing_error(405)
            return respond(served, await served.handler(self._operations, Call({}, {}, body, "", request_id)))
        methods = routes.BY_PATH.get(path)
        if methods is None:
            return render.routing_error(404)
        route = methods.get(method)
        if route is None:
            return render.routing_error(405)
        trace.endpoint = route.label
        return await self._kraken(route, scope, body, headers, trace)

    async def _kraken(
        self, route: routes.KrakenRoute, scope: Scope, body: bytes, headers: dict[str, list[str]], trace: Trace
    ) -> render.Response:
        """One Kraken request, with one clock reading: the use case's time is the answer's ``serverTime``."""
        now = render.now_ms()
        at = iso_time(now)
        if route.endpoint is None:  # public
            return render.kraken_success(route.present(await self.kraken.instruments(), at))
        raw_query: bytes = scope.get("query_string", b"")
        unsigned = _duplicated(headers)  # a duplicated APIKey/Authent/Nonce: nobody can say which was signed
        request = KrakenRequest(
            method=route.method,
            path=route.path,
            raw_query=raw_query.decode("utf-8", "surrogateescape"),
            body=body.decode("utf-8", "surrogateescape"),
            content_type=_one(headers, "content-type") or "",
            api_key=_one(headers, "apikey"),
            authent=None if unsigned else _one(headers, "authent"),
            nonce=_one(headers, "nonce"),
            client_ip=self._client_ip(scope, headers),
            request_id=trace.request_id,
            now_ms=now,
        )
        try:
            result = await self.kraken.handle(route.endpoint, request)
        except LevprefError as refusal:
            trace.outcome = render.outcome_of(refusal)
            trace.limit_scope = "ip" if isinstance(refusal, FailedAuthLimitExceeded) else "key"
            return render.kraken_error(refusal, at)
        return render.kraken_success(route.present(result, at))

    def _client_ip(self, scope: Scope, headers: dict[str, list[str]]) -> str:
        if self.trust_forwarded:
            entries = [e.strip() for value in headers.get("x-forwarded-for", ()) for e in value.split(",")]
            if len(entries) >= self.trusted_hops and entries[-self.trusted_hops]:
                return entries[-self.trusted_hops][:64]
        client = scope.get("client")
        return str(client[0]) if client else "unknown"


__all__ = ["LevprefApp"]
