"""The admin HTTP API under ``/admin/v1`` (SPEC §4): JSON, ``Authorization: Bearer <token>``.

Rules:
- The token is checked against a stored SHA-256 hash in constant time; the token itself is never stored.
- Bodies are JSON objects (a scenario may also be TOML with ``Content-Type: application/toml``); bad JSON,
  a bad field or an unknown object answers a JSON error with a fixed explanation, and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tomllib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from levpref.adapters import jsonwire
from levpref.adapters.http import render
from levpref.errors import AdminBadRequest, AdminError, AdminNotFound, AdminUnauthorized
from levpref.service.admin import AdminService
from levpref.service.audit import decimal_text
from levpref.service.scenario import parse_scenario

Handler = Callable[[re.Match[str], Any, str], Awaitable[render.Response]]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AdminApi:
    def __init__(self, service: AdminService, token_sha256: str) -> None:
        self._service = service
        self._token_sha256 = token_sha256
        seg = r"([A-Za-z0-9_\-]{1,64})"
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("PUT", re.compile(r"/admin/v1/scenario"), self._load_scenario),
            ("GET", re.compile(r"/admin/v1/scenario"), self._export_scenario),
            ("PUT", re.compile(r"/admin/v1/instruments"), self._load_instruments),
            ("PUT", re.compile(rf"/admin/v1/marks/{seg}"), self._set_mark),
            ("PUT", re.compile(rf"/admin/v1/currencies/{seg}"), self._set_currency),
            ("PUT", re.compile(rf"/admin/v1/accounts/{seg}"), self._upsert_account),
            ("GET", re.compile(rf"/admin/v1/accounts/{seg}"), self._account),
            ("PUT", re.compile(rf"/admin/v1/accounts/{seg}/collateral/{seg}"), self._set_collateral),
            ("PUT", re.compile(rf"/admin/v1/accounts/{seg}/positions/{seg}"), self._set_position),
            ("DELETE", re.compile(rf"/admin/v1/accounts/{seg}/positions/{seg}"), self._delete_position),
            ("GET", re.compile(rf"/admin/v1/accounts/{seg}/audit"), self._audit),
            ("POST", re.compile(rf"/admin/v1/accounts/{seg}/keys"), self._create_key),
            ("DELETE", re.compile(r"/admin/v1/keys/([A-Za-z0-9+/=_\-]{1,128})"), self._revoke_key),
            ("GET", re.compile(r"/admin/v1/audit"), self._audit_all),
        ]

    def _authorised(self, headers: dict[str, list[str]]) -> bool:
        values = headers.get("authorization", [])
        if len(values) != 1 or values[0][:7].lower() != "bearer ":  # the scheme is case-insensitive (RFC 9110)
            return False
        presented = token_hash(values[0][len("Bearer ") :])
        return hmac.compare_digest(presented, self._token_sha256)

    async def handle(
        self, method: str, path: str, body: bytes, headers: dict[str, list[str]], request_id: str
    ) -> render.Response:
        matched_path = False
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            matched_path = True
            if route_method != method:
                continue
            try:
                if not self._authorised(headers):
                    raise AdminUnauthorized("missing or wrong bearer token")
                payload = self._payload(body, headers, path)
                return await handler(match, payload, request_id)
            except AdminError as error:
                return render.admin_error(error)
        return render.routing_error(405 if matched_path else 404)

    @staticmethod
    def _payload(body: bytes, headers: dict[str, list[str]], path: str) -> Any:
        if not body:
            return {}
        content_type = (headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
        try:
            if content_type == "application/toml" and path == "/admin/v1/scenario":
                return tomllib.loads(body.decode("utf-8"), parse_float=Decimal)
            data = jsonwire.loads(body)
        except (ValueError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):  # deep nesting too
            raise AdminBadRequest("the body is not valid JSON (or TOML for a scenario)") from None
        return data

    @staticmethod
    def _object(payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise AdminBadRequest("the body must be a JSON object")
        return payload

    async def _load_scenario(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        keys = await self._service.load_scenario(parse_scenario(self._object(payload)), render.now_ms(), rid)
        return render.admin_ok(
            {
                "loaded": True,
                "keys": [{"account": k.account_id, "public": k.public, "access": k.access} for k in keys],
            }
        )

    async def _export_scenario(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        return render.admin_ok(await self._service.export_scenario())

    async def _load_instruments(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        listed = payload.get("instruments") if isinstance(payload, dict) else payload
        if not isinstance(listed, list):
            raise AdminBadRequest("expected a Kraken /instruments response or a list of instruments")
        return render.admin_ok({"loaded": await self._service.load_instruments(listed, render.now_ms(), rid)})

    async def _set_mark(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        await self._service.set_mark(m[1], self._object(payload).get("price"), render.now_ms(), rid)
        return render.admin_ok({"symbol": m[1], "price": str(payload["price"])})

    async def _set_currency(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        body = self._object(payload)
        await self._service.set_currency(m[1], body.get("price"), body.get("haircut", "0"), render.now_ms(), rid)
        return render.admin_ok({"currency": m[1]})

    async def _upsert_account(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        active = self._object(payload).get("active", True)
        if not isinstance(active, bool):
            raise AdminBadRequest("active must be true or false")
        created = await self._service.upsert_account(m[1], active=active, now_ms=render.now_ms(), request_id=rid)
        return render.admin_ok({"account": m[1], "active": active}, 201 if created else 200)

    async def _account(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        summary, prefs = await self._service.account(m[1])
        return render.admin_ok(
            {
                "account": m[1],
                "flex": render.flex(summary),
                "preferences": [
                    {
                        "symbol": p.symbol,
                        "max_leverage": None if p.max_leverage is None else str(p.max_leverage),
                        "pnl_currency": p.pnl_currency or "USD",
                    }
                    for p in prefs
                ],
            }
        )

    async def _set_collateral(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        await self._service.set_collateral(m[1], m[2], self._object(payload).get("quantity"), render.now_ms(), rid)
        return render.admin_ok({"account": m[1], "currency": m[2]})

    async def _set_position(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        body = self._object(payload)
        allocated = await self._service.set_position(
            m[1], m[2], body.get("size"), body.get("entry_price"), render.now_ms(), rid
        )
        return render.admin_ok(
            {
                "account": m[1],
                "symbol": m[2],
                "allocated_margin": decimal_text(allocated),
            }
        )

    async def _delete_position(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        await self._service.delete_position(m[1], m[2], render.now_ms(), rid)
        return render.admin_ok({"account": m[1], "symbol": m[2], "deleted": True})

    async def _audit(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        return render.admin_ok(render.audit_entries(await self._service.audit(m[1])))

    async def _audit_all(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        return render.admin_ok(render.audit_entries(await self._service.audit(None)))

    async def _create_key(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        body = self._object(payload)
        expires = body.get("expires_ms")
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
            raise AdminBadRequest("expires_ms must be an integer")
        key = await self._service.create_key(
            m[1], str(body.get("access", "full")), body.get("rate_budget", 500), render.now_ms(), expires, rid
        )
        return render.admin_ok(
            {"account": key.account_id, "public": key.public, "secret": key.secret, "access": key.access}, 201
        )

    async def _revoke_key(self, m: re.Match[str], payload: Any, rid: str) -> render.Response:
        await self._service.revoke_key(m[1], render.now_ms(), rid)
        return render.admin_ok({"public": m[1], "revoked": True})


__all__ = ["AdminApi", "AdminNotFound", "token_hash"]
