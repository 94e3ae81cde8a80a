"""The admin HTTP API under ``/admin/v1`` (SPEC §4): JSON, ``Authorization: Bearer <token>``.

Rules:
- The routes, their handlers and their bodies are the rows of ``admin_routes.ADMIN_ROUTES``: an unknown path is 404,
  a known path with another method 405 (shape B), before any authentication.
- The token is checked against a stored SHA-256 hash in constant time; the token itself is never stored.
- Bodies are JSON objects decoded strictly into the Structs of ``adapters.wire`` (a scenario may also be TOML with
  ``Content-Type: application/toml``); a refusal is a 400 ``{"error":"invalid","detail":"field: …"}`` and
  changes nothing. Bodies of GET and DELETE are not read.
"""

from __future__ import annotations

import hashlib
import hmac

from levpref.adapters.http import render
from levpref.adapters.http.admin_handlers import Admin, Call
from levpref.adapters.http.admin_render import account_view, admin_error
from levpref.adapters.http.admin_routes import ADMIN_ROUTER, respond
from levpref.adapters.wire.audit import parameters
from levpref.errors import AdminError, AdminNotFound, AdminRateLimited, AdminUnauthorized
from levpref.service.admin import AdminService
from levpref.service.operator import OperatorViews


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AdminApi:
    def __init__(
        self, service: AdminService, views: OperatorViews, token_sha256: str, *, failed_auth_limit: int = 20
    ) -> None:
        self._service = service
        self._admin = Admin(service, views)
        self._token_sha256 = token_sha256
        self._failed_auth_limit = failed_auth_limit

    def _authorised(self, headers: dict[str, list[str]]) -> bool:
        values = headers.get("authorization", [])
        if len(values) != 1 or values[0][:7].lower() != "bearer ":  # the scheme is case-insensitive (RFC 9110)
            return False
        presented = token_hash(values[0][len("Bearer ") :])
        return hmac.compare_digest(presented, self._token_sha256)

    async def handle(
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, list[str]],
        request_id: str,
        query: str = "",
        client: str = "unknown",
    ) -> render.Response:
        found = ADMIN_ROUTER.lookup(path)
        if found is None:
            return render.routing_error(404)
        route = found.methods.get(method)
        if route is None:
            return render.routing_error(405)
        try:
            await self._authenticate(headers, client)
            content_type = (headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
            params = parameters(query, route.query_names) if route.query else {}
            call = Call(found.path, params, body, content_type, request_id)
            return respond(route, await route.handler(self._admin, call))
        except AdminError as error:
            return admin_error(error)

    async def _authenticate(self, headers: dict[str, list[str]], client: str) -> None:
        """The bearer token, checked only while the client address has failures left; a failure is charged."""
        now, limit = render.now_ms(), self._failed_auth_limit
        if await self._service.admin_locked_out(client, limit, now):
            raise AdminRateLimited("too many failed admin authentications from this address; wait a minute")
        if not self._authorised(headers):
            if not await self._service.charge_admin_failure(client, limit, now):
                raise AdminRateLimited("too many failed admin authentications from this address; wait a minute")
            raise AdminUnauthorized("missing or wrong bearer token")


__all__ = ["AdminApi", "AdminNotFound", "account_view", "token_hash"]
