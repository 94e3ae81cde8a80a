"""The admin HTTP API under ``/admin/v1`` (SPEC §4): JSON, ``Authorization: Bearer <token>``.

Rules:
- The token is checked against a stored SHA-256 hash in constant time; the token itself is never stored.
- Bodies are JSON objects decoded strictly into the Structs of ``adapters.wire`` (a scenario may also be TOML with
  ``Content-Type: application/toml``); a refusal is a 400 ``{"error":"invalid","detail":"field: …"}`` and
  changes nothing. Bodies of GET and DELETE are not read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from levpref.adapters.http import render
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.audit import KNOWN, audit_query, next_cursor, parameters
from levpref.adapters.wire.decode import loads_json
from levpref.adapters.wire.scenario import decode_instruments, decode_scenario_body
from levpref.domain.margin import FlexSummary
from levpref.errors import AdminError, AdminNotFound, AdminRateLimited, AdminUnauthorized, InvalidInput
from levpref.service.admin import AdminService, plain_text
from levpref.service.audit import decimal_text
from levpref.service.operator import MAX_ACCOUNTS_PAGE, OperatorViews
from levpref.service.records import PreferenceRecord


@dataclass(frozen=True, slots=True)
class Call:
    """One admin request as a handler sees it."""

    match: re.Match[str]
    body: bytes
    content_type: str
    request_id: str
    query: str


Handler = Callable[[Call], Awaitable[render.Response]]


def account_view(account_id: str, summary: FlexSummary, prefs: list[PreferenceRecord]) -> dict[str, Any]:
    """One account as the admin API and ``levpref accounts show`` both print it."""
    return {
        "account": account_id,
        "flex": render.flex(summary),
        "preferences": [
            {
                "symbol": p.symbol,
                "max_leverage": None if p.max_leverage is None else plain_text(p.max_leverage),
                "pnl_currency": p.pnl_currency or "USD",
            }
            for p in prefs
        ],
    }


def _ok(answer: msgspec.Struct, status: int = 200) -> render.Response:
    return render.admin_ok(msgspec.structs.asdict(answer), status)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AdminApi:
    def __init__(
        self, service: AdminService, views: OperatorViews, token_sha256: str, *, failed_auth_limit: int = 20
    ) -> None:
        self._service = service
        self._views = views
        self._token_sha256 = token_sha256
        self._failed_auth_limit = failed_auth_limit
        seg = r"([A-Za-z0-9_.\-]{1,64})"
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("PUT", re.compile(r"/admin/v1/scenario"), self._load_scenario),
            ("GET", re.compile(r"/admin/v1/scenario"), self._export_scenario),
            ("PUT", re.compile(r"/admin/v1/instruments"), self._load_instruments),
            ("PUT", re.compile(rf"/admin/v1/marks/{seg}"), self._set_mark),
            ("PUT", re.compile(rf"/admin/v1/currencies/{seg}"), self._set_currency),
            ("GET", re.compile(r"/admin/v1/accounts"), self._accounts),
            ("PUT", re.compile(rf"/admin/v1/accounts/{seg}"), self._upsert_account),
            ("GET", re.compile(rf"/admin/v1/accounts/{seg}"), self._account),
            ("PUT", re.compile(rf"/admin/v1/accounts/{seg}/collateral/{seg}"), self._set_collateral),
            ("PUT", re.compile(rf"/admin/v1/accounts/{seg}/positions/{seg}"), self._set_position),
            ("DELETE", re.compile(rf"/admin/v1/accounts/{seg}/positions/{seg}"), self._delete_position),
            ("GET", re.compile(rf"/admin/v1/accounts/{seg}/audit"), self._audit),
            ("GET", re.compile(rf"/admin/v1/accounts/{seg}/pools"), self._pools),
            ("GET", re.compile(rf"/admin/v1/accounts/{seg}/preview"), self._preview),
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
        self,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, list[str]],
        request_id: str,
        query: str = "",
        client: str = "unknown",
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
                await self._authenticate(headers, client)
                content_type = (headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
                return await handler(Call(match, body, content_type, request_id, query))
            except AdminError as error:
                return render.admin_error(error)
        return render.routing_error(405 if matched_path else 404)

    async def _authenticate(self, headers: dict[str, list[str]], client: str) -> None:
        """The bearer token, checked only while the client address has failures left; a failure is charged."""
        now, limit = render.now_ms(), self._failed_auth_limit
        if await self._service.admin_locked_out(client, limit, now):
            raise AdminRateLimited("too many failed admin authentications from this address; wait a minute")
        if not self._authorised(headers):
            if not await self._service.charge_admin_failure(client, limit, now):
                raise AdminRateLimited("too many failed admin authentications from this address; wait a minute")
            raise AdminUnauthorized("missing or wrong bearer token")

    async def _load_scenario(self, c: Call) -> render.Response:
        scenario = decode_scenario_body(c.body, c.content_type)
        keys = await self._service.load_scenario(scenario, render.now_ms(), c.request_id)
        return _ok(wire.ScenarioLoaded(keys=[wire.ScenarioKey(k.account_id, k.public, k.access) for k in keys]))

    async def _export_scenario(self, c: Call) -> render.Response:
        given = parameters(c.query, ("secrets",))
        if given.get("secrets", "false") not in ("true", "false"):
            raise InvalidInput("secrets: expected true or false")
        return render.admin_ok(await self._service.export_scenario(with_secrets=given.get("secrets") == "true"))

    async def _load_instruments(self, c: Call) -> render.Response:
        instruments = decode_instruments(loads_json(c.body))
        return _ok(
            wire.InstrumentsLoaded(await self._service.load_instruments(instruments, render.now_ms(), c.request_id))
        )

    async def _set_mark(self, c: Call) -> render.Response:
        price = wire.plain(wire.body(c.body, wire.MarkBody).price)
        await self._service.set_mark(c.match[1], price, render.now_ms(), c.request_id)
        return _ok(wire.MarkSet(c.match[1], plain_text(price)))

    async def _set_currency(self, c: Call) -> render.Response:
        body = wire.body(c.body, wire.CurrencyBody)
        price, haircut = wire.plain(body.price), wire.plain(body.haircut)
        await self._service.set_currency(c.match[1], price, haircut, render.now_ms(), c.request_id)
        return _ok(wire.CurrencySet(c.match[1]))

    async def _upsert_account(self, c: Call) -> render.Response:
        active = wire.body(c.body, wire.AccountBody).active
        created = await self._service.upsert_account(
            c.match[1], active=active, now_ms=render.now_ms(), request_id=c.request_id
        )
        return _ok(wire.AccountSet(c.match[1], active), 201 if created else 200)

    async def _accounts(self, c: Call) -> render.Response:
        given = parameters(c.query, ("after", "limit"))
        limit = given.get("limit", str(MAX_ACCOUNTS_PAGE))
        if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_ACCOUNTS_PAGE):
            raise InvalidInput(f"limit: expected an integer from 1 to {MAX_ACCOUNTS_PAGE}")
        page = await self._views.accounts(given.get("after", ""), int(limit))
        following = page[-1].account_id if len(page) == int(limit) else None
        return render.admin_ok(render.accounts_page(page, following))

    async def _pools(self, c: Call) -> render.Response:
        return render.admin_ok(render.account_pools(await self._views.pools(c.match[1])))

    async def _preview(self, c: Call) -> render.Response:
        given = parameters(c.query, ("symbol", "maxLeverage"))
        params = {name: [value] for name, value in given.items()}
        return render.admin_ok(render.preview(await self._views.preview(c.match[1], params)))

    async def _account(self, c: Call) -> render.Response:
        summary, prefs = await self._service.account(c.match[1])
        return render.admin_ok(account_view(c.match[1], summary, prefs))

    async def _set_collateral(self, c: Call) -> render.Response:
        quantity = wire.plain(wire.body(c.body, wire.CollateralBody).quantity)
        await self._service.set_collateral(c.match[1], c.match[2], quantity, render.now_ms(), c.request_id)
        return _ok(wire.CollateralSet(c.match[1], c.match[2]))

    async def _set_position(self, c: Call) -> render.Response:
        body = wire.body(c.body, wire.PositionBody)
        size, entry = wire.plain(body.size), wire.plain(body.entry_price)
        allocated = await self._service.set_position(c.match[1], c.match[2], size, entry, render.now_ms(), c.request_id)
        return _ok(wire.PositionSet(c.match[1], c.match[2], decimal_text(allocated)))

    async def _delete_position(self, c: Call) -> render.Response:
        await self._service.delete_position(c.match[1], c.match[2], render.now_ms(), c.request_id)
        return _ok(wire.PositionDeleted(c.match[1], c.match[2]))

    async def _audit(self, c: Call) -> render.Response:
        return await self._audit_page(c, c.match[1])

    async def _audit_all(self, c: Call) -> render.Response:
        return await self._audit_page(c, None)

    async def _audit_page(self, c: Call, account_id: str | None) -> render.Response:
        page = await self._service.audit_page(audit_query(parameters(c.query, KNOWN), account_id))
        return render.admin_ok({**render.audit_entries(page.entries), "next": next_cursor(page)})

    async def _create_key(self, c: Call) -> render.Response:
        body = wire.body(c.body, wire.KeyBody)
        key = await self._service.create_key(
            c.match[1], body.access, body.rate_budget, render.now_ms(), body.expires_ms, c.request_id
        )
        return _ok(wire.KeyIssued(key.account_id, key.public, key.secret, key.access), 201)

    async def _revoke_key(self, c: Call) -> render.Response:
        await self._service.revoke_key(c.match[1], render.now_ms(), c.request_id)
        return _ok(wire.KeyRevoked(c.match[1]))


__all__ = ["AdminApi", "AdminNotFound", "account_view", "token_hash"]
