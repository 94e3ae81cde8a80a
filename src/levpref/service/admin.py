"""Operator use cases: the market and the back office (SPEC §4).

Rules:
- Admin operations set state directly (they are not subject to margin checks), but each is validated,
  runs in one transaction and is audited with actor ``admin`` (or ``cli``).
- A position set in a contract the account has isolated at ``L`` gets ``A = N / L`` at the current mark.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from levpref.domain.exact import EXACT
from levpref.domain.margin import FlexSummary, allocation_for, flex_summary
from levpref.domain.preferences import Isolated
from levpref.errors import AdminNotFound, InvalidInput
from levpref.ratelimit import Bucket
from levpref.service.accounts import load_account, require_multi_collateral
from levpref.service.audit import decimal_text, iso_time
from levpref.service.audit_log import AuditPage, AuditQuery, read_audit
from levpref.service.guard import charge_failure, locked_out
from levpref.service.ports import Secrets, Store, Tx
from levpref.service.records import (
    Access,
    ApiKeyRecord,
    AuditRecord,
    CurrencyRecord,
    InstrumentRecord,
    PositionRecord,
    PreferenceRecord,
)
from levpref.service.scenario import AccountSpec, KeySpec, Scenario, check_scenario, check_usd_price

WORLD = "*"


def plain_text(value: Decimal) -> str:
    """A Decimal as text in plain notation, digit for digit (``0.0000001``, never ``1E-7``): what the strict input
    reads back, so an export always loads."""
    return format(value, "f")


def _moved(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    """Margin moved into the isolated pool by an admin change (negative: back to cross), ``None`` when cross."""
    if before is None and after is None:
        return None
    return EXACT.subtract(after or Decimal(0), before or Decimal(0))


_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CURRENCY = re.compile(r"[A-Za-z0-9]{2,10}")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    account_id: str
    public: str
    secret: str
    access: str


class AdminService:
    def __init__(self, store: Store, secrets: Secrets, actor: str = "admin") -> None:
        self._store = store
        self._secrets = secrets
        self._actor = actor

    @property
    def store(self) -> Store:
        return self._store

    def _audit(
        self,
        account_id: str,
        action: str,
        now_ms: int,
        request_id: str,
        *,
        symbol: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        margin_moved: Decimal | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            account_id,
            iso_time(now_ms),
            self._actor,
            action,
            symbol,
            before or {},
            after or {},
            margin_moved,
            request_id,
        )

    def _key_record(self, account_id: str, spec: KeySpec, now_ms: int) -> ApiKeyRecord:
        if spec.public is None or spec.secret is None:
            raise InvalidInput("keys: a key without public and secret is generated before it is stored")
        sealed = self._secrets.seal(spec.public, base64.b64decode(spec.secret))
        return ApiKeyRecord(
            spec.public,
            account_id,
            sealed,
            spec.access,
            spec.rate_budget,
            spec.revoked,
            spec.expires_ms,
            Bucket.full(spec.rate_budget, now_ms),
            0,
            True,
        )

    async def load_scenario(
        self,
        scenario: Scenario,
        now_ms: int,
        request_id: str = "-",
        on_account: Callable[[], None] | None = None,
    ) -> list[IssuedKey]:
        """Replace the whole world with ``scenario`` atomically; returns every key of it (with secrets, to print).

        Accounts and keys that stay are updated in place, so a request during the load sees the old world or the
        new one, never a missing key. A key whose public key and secret are unchanged keeps its nonce window
        (SPEC §2.2) unless the scenario sets ``reset_nonces``.
        """
        scenario = check_scenario(scenario)
        keys, issued = self._keys_of(scenario, now_ms)
        async with self._store.transaction() as tx:
            keep = await self._unchanged_keys(tx, issued) if not scenario.reset_nonces else set()
            await tx.replace_world([(a.id, a.active) for a in scenario.accounts], keys, keep)
            for inst in scenario.instruments:
                await tx.upsert_instrument(inst.instrument.symbol, inst.raw)
            for currency, (price, haircut) in scenario.currencies.items():
                await tx.upsert_currency(CurrencyRecord(currency, price, haircut))
            for symbol, price in scenario.marks.items():
                await tx.upsert_mark(symbol, price)
            for account in scenario.accounts:
                await self._load_account(tx, account)
                if on_account is not None:
                    on_account()  # progress, for a caller that shows it
            counts = {"instruments": len(scenario.instruments), "accounts": len(scenario.accounts)}
            await tx.add_audit(self._audit(WORLD, "load_scenario", now_ms, request_id, after=counts))
        return issued

    def _keys_of(self, scenario: Scenario, now_ms: int) -> tuple[list[ApiKeyRecord], list[IssuedKey]]:
        """The scenario's keys as stored (a key without a public part gets a fresh pair) and as printed."""
        issued: list[IssuedKey] = []
        keys: list[ApiKeyRecord] = []
        for account in scenario.accounts:
            for given in account.keys:
                key = given if given.public is not None else self._generated(given)
                keys.append(self._key_record(account.id, key, now_ms))
                issued.append(IssuedKey(account.id, str(key.public), str(key.secret), key.access))
        return keys, issued

    async def _unchanged_keys(self, tx: Tx, issued: list[IssuedKey]) -> set[str]:
        """The public keys the load keeps with the same secret: they keep their nonce windows (SPEC §2.2)."""
        secrets = {k.public: base64.b64decode(k.secret) for k in issued}
        return {
            public
            for public, sealed in await tx.all_key_secrets()
            if public in secrets and self._secrets.open(public, sealed) == secrets[public]
        }

    @staticmethod
    async def _load_account(tx: Tx, account: AccountSpec) -> None:
        for currency, quantity in account.collateral.items():
            await tx.set_balance(account.id, currency, quantity)
        for p in account.positions:
            await tx.set_position(
                account.id, PositionRecord(p.symbol, p.size, p.entry_price, p.fill_time, p.allocated_margin)
            )
        for pref in account.preferences:
            await tx.set_preference(account.id, PreferenceRecord(pref.symbol, pref.mode, pref.pnl_currency))

    def _generated(self, spec: KeySpec) -> KeySpec:
        public, secret = self._secrets.new_key_pair()
        return KeySpec(public, secret, spec.access, spec.rate_budget, spec.expires_ms, spec.revoked)

    async def export_scenario(self, *, with_secrets: bool = False) -> dict[str, Any]:
        """The world in scenario form; key secrets only ``with_secrets`` (the operator's backup, SPEC §4)."""
        async with self._store.transaction() as tx:
            out: dict[str, Any] = {
                "instruments": [r.raw for r in await tx.instruments()],
                "collateral_currencies": {
                    c.currency: {"price": plain_text(c.price), "haircut": plain_text(c.haircut)}
                    for c in await tx.currencies()
                },
                "marks": {s: plain_text(p) for s, p in (await tx.marks()).items()},
                "accounts": [],
            }
            for account_id in await tx.account_ids():
                out["accounts"].append(await self._export_account(tx, account_id, with_secrets))
        return out

    async def _export_account(self, tx: Tx, account_id: str, with_secrets: bool) -> dict[str, Any]:
        active = await tx.lock_account(account_id)
        keys = []
        for k in await tx.keys_of(account_id):
            secret = self._secrets.open(k.public_key, k.secret_enc) if with_secrets else None
            entry: dict[str, Any] = {"public": k.public_key, "access": k.access, "rate_budget": k.rate_budget}
            if secret is not None:
                entry["secret"] = base64.b64encode(secret).decode("ascii")
            if k.expires_ms is not None:
                entry["expires_ms"] = k.expires_ms
            if k.revoked:
                entry["revoked"] = True
            keys.append(entry)
        return {
            "id": account_id,
            "active": bool(active),
            "collateral": {c: plain_text(q) for c, q in (await tx.balances(account_id)).items()},
            "keys": keys,
            "positions": [
                {
                    "symbol": p.symbol,
                    "size": plain_text(p.size),
                    "entry_price": plain_text(p.entry_price),
                    "fill_time": p.fill_time,
                    **({"allocated_margin": plain_text(p.allocated_margin)} if p.allocated_margin is not None else {}),
                }
                for p in await tx.positions(account_id)
            ],
            "preferences": [
                {
                    "symbol": p.symbol,
                    **({"max_leverage": plain_text(p.max_leverage)} if p.max_leverage is not None else {}),
                    **({"pnl_currency": p.pnl_currency} if p.pnl_currency is not None else {}),
                }
                for p in await tx.preferences(account_id)
            ],
        }

    async def load_instruments(self, instruments: list[InstrumentRecord], now_ms: int, request_id: str = "-") -> int:
        """Add or replace instruments (decoded from Kraken's schema, e.g. a saved GET /instruments response)."""
        async with self._store.transaction() as tx:
            for inst in instruments:
                await tx.upsert_instrument(inst.instrument.symbol, inst.raw)
            await tx.add_audit(
                self._audit(
                    WORLD,
                    "load_instruments",
                    now_ms,
                    request_id,
                    after={"symbols": [i.instrument.symbol for i in instruments]},
                )
            )
        return len(instruments)

    async def set_mark(self, symbol: str, value: Decimal, now_ms: int, request_id: str = "-") -> None:
        async with self._store.transaction() as tx:
            if await tx.instrument(symbol) is None:
                raise AdminNotFound(f"no instrument {symbol}")
            before = await tx.mark(symbol)
            await tx.upsert_mark(symbol, value)
            await tx.add_audit(
                self._audit(
                    WORLD,
                    "set_mark",
                    now_ms,
                    request_id,
                    symbol=symbol,
                    before={"price": None if before is None else plain_text(before)},
                    after={"price": plain_text(value)},
                )
            )

    async def set_currency(
        self, currency: str, value: Decimal, cut: Decimal, now_ms: int, request_id: str = "-"
    ) -> None:
        if not _CURRENCY.fullmatch(currency):
            raise InvalidInput("currency: expected a currency code: 2 to 10 letters or digits")
        check_usd_price(currency, value, "price")
        async with self._store.transaction() as tx:
            await tx.upsert_currency(CurrencyRecord(currency, value, cut))
            await tx.add_audit(
                self._audit(
                    WORLD,
                    "set_currency",
                    now_ms,
                    request_id,
                    after={"currency": currency, "price": plain_text(value), "haircut": plain_text(cut)},
                )
            )

    async def upsert_account(self, account_id: str, *, active: bool, now_ms: int, request_id: str = "-") -> bool:
        """Create the account or set its ``active`` flag; returns whether it was created."""
        if not _ID.fullmatch(account_id):
            raise InvalidInput("id: expected an id: 1 to 64 of A-Z a-z 0-9 _ . -")
        async with self._store.transaction() as tx:
            before = await tx.lock_account(account_id)
            if before is None:
                await tx.insert_account(account_id, active=active)
            else:
                await tx.set_account_active(account_id, active=active)
            await tx.add_audit(
                self._audit(
                    account_id,
                    "set_account",
                    now_ms,
                    request_id,
                    before={"active": before},
                    after={"active": active},
                )
            )
            return before is None

    async def _existing(self, tx: Tx, account_id: str) -> None:
        if await tx.lock_account(account_id) is None:
            raise AdminNotFound(f"no account {account_id}")

    async def set_collateral(
        self, account_id: str, currency: str, value: Decimal, now_ms: int, request_id: str = "-"
    ) -> None:
        async with self._store.transaction() as tx:
            await self._existing(tx, account_id)
            if await tx.currency(currency) is None:
                raise AdminNotFound(f"{currency} is not a collateral currency")
            before = (await tx.balances(account_id)).get(currency)
            await tx.set_balance(account_id, currency, value)
            await tx.add_audit(
                self._audit(
                    account_id,
                    "set_collateral",
                    now_ms,
                    request_id,
                    before={currency: None if before is None else plain_text(before)},
                    after={currency: plain_text(value)},
                )
            )

    async def set_position(
        self, account_id: str, symbol: str, s: Decimal, e: Decimal, now_ms: int, request_id: str = "-"
    ) -> Decimal | None:
        """Open or replace a position (``s`` signed, not 0); returns its allocated margin when isolated."""
        if s == 0:
            raise InvalidInput("size: expected a size other than 0 (DELETE the position instead)")
        async with self._store.transaction() as tx:
            await self._existing(tx, account_id)
            try:
                contract_size, _ = await require_multi_collateral(tx, symbol)
            except InvalidInput as refusal:
                raise InvalidInput(f"symbol: {refusal.detail}") from None
            pref = await tx.preference(account_id, symbol)
            mark = await tx.mark(symbol) or e
            notional = EXACT.multiply(EXACT.multiply(s.copy_abs(), contract_size), mark)
            allocated = allocation_for(notional, pref.mode.leverage) if isinstance(pref.mode, Isolated) else None
            before = {p.symbol: p for p in await tx.positions(account_id)}.get(symbol)
            held = None if before is None else before.allocated_margin
            fill_time = before.fill_time if before is not None else iso_time(now_ms)
            await tx.set_position(account_id, PositionRecord(symbol, s, e, fill_time, allocated))
            await tx.add_audit(
                self._audit(
                    account_id,
                    "set_position",
                    now_ms,
                    request_id,
                    symbol=symbol,
                    before={}
                    if before is None
                    else {"size": plain_text(before.size), "entry_price": plain_text(before.entry_price)},
                    after={
                        "size": plain_text(s),
                        "entry_price": plain_text(e),
                        "allocated_margin": decimal_text(allocated),
                    },
                    margin_moved=_moved(held, allocated),
                )
            )
            return allocated

    async def delete_position(self, account_id: str, symbol: str, now_ms: int, request_id: str = "-") -> None:
        async with self._store.transaction() as tx:
            await self._existing(tx, account_id)
            held = {p.symbol: p for p in await tx.positions(account_id)}.get(symbol)
            if held is None or await tx.delete_position(account_id, symbol) == 0:
                raise AdminNotFound(f"account {account_id} has no position in {symbol}")
            await tx.add_audit(
                self._audit(
                    account_id,
                    "delete_position",
                    now_ms,
                    request_id,
                    symbol=symbol,
                    before={"size": plain_text(held.size), "entry_price": plain_text(held.entry_price)},
                    margin_moved=_moved(held.allocated_margin, None),
                )
            )

    async def create_key(
        self,
        account_id: str,
        access: Access,
        rate_budget: int,
        now_ms: int,
        expires_ms: int | None = None,
        request_id: str = "-",
    ) -> IssuedKey:
        """A new key (access, budget and expiry checked by the edge's typed decoding)."""
        public, secret = self._secrets.new_key_pair()
        async with self._store.transaction() as tx:
            await self._existing(tx, account_id)
            await tx.insert_key(
                self._key_record(account_id, KeySpec(public, secret, access, rate_budget, expires_ms), now_ms)
            )
            await tx.add_audit(
                self._audit(
                    account_id,
                    "create_key",
                    now_ms,
                    request_id,
                    after={"public": public, "access": access, "rate_budget": rate_budget},
                )
            )
        return IssuedKey(account_id, public, secret, access)

    async def revoke_key(self, public: str, now_ms: int, request_id: str = "-") -> None:
        async with self._store.transaction() as tx:
            key = await tx.lock_key(public)
            if key is None:
                raise AdminNotFound("no such key")
            await tx.update_key(
                ApiKeyRecord(
                    key.public_key,
                    key.account_id,
                    key.secret_enc,
                    key.access,
                    key.rate_budget,
                    True,
                    key.expires_ms,
                    key.bucket,
                    key.nonce_count,
                    key.account_active,
                )
            )
            await tx.add_audit(
                self._audit(
                    key.account_id,
                    "revoke_key",
                    now_ms,
                    request_id,
                    after={"public": public, "revoked": True},
                )
            )

    async def reseal_secrets(self, new: Secrets, now_ms: int) -> int:
        """Re-seal every API secret under ``new`` (master-key rotation) in one transaction; returns the count."""
        async with self._store.transaction() as tx:
            count = 0
            for public, sealed in await tx.all_key_secrets():
                secret = self._secrets.open(public, sealed)
                if secret is None:
                    raise InvalidInput(f"the secret of key {public[:8]}… cannot be opened with the current master key")
                await tx.set_key_secret(public, new.seal(public, secret))
                count += 1
            await tx.add_audit(self._audit(WORLD, "rotate_master_key", now_ms, "-", after={"keys": count}))
        return count

    async def account(self, account_id: str) -> tuple[FlexSummary, list[PreferenceRecord]]:
        async with self._store.transaction() as tx:
            await self._existing(tx, account_id)
            view = await load_account(tx, account_id)
            return flex_summary(view.margin), list(view.preferences.values())

    async def admin_locked_out(self, address: str, limit: int, now_ms: int) -> bool:
        """Whether ``address`` has used up its failed admin authentications (SPEC §4: limited like Kraken's)."""
        async with self._store.transaction() as tx:
            return await locked_out(tx, [f"admin:{address}"], limit, now_ms)

    async def charge_admin_failure(self, address: str, limit: int, now_ms: int) -> bool:
        """Charge a failed admin authentication to ``address``; ``False`` when it had no room left."""
        async with self._store.transaction() as tx:
            return await charge_failure(tx, [f"admin:{address}"], limit, now_ms)

    async def audit_page(self, query: AuditQuery) -> AuditPage:
        """One page of the audit log (of one account, or the whole log when ``query.account_id`` is None)."""
        return await read_audit(self._store, query)
