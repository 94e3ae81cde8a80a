"""The operator's tools: each command a function of its parsed arguments, acting on the database directly.

Rules:
- Every change goes through ``AdminService`` (validated, one transaction, audited as actor ``cli``); reads go
  through the same service and views as the admin API, and print the same JSON.
- Arguments are checked before the database is opened. Only ``migrate`` and ``scenario load`` create a missing
  SQLite database; the others say where they looked (a wrong directory or URL never shows an empty world).
- ``accounts add`` refuses an existing account and ``activate``/``deactivate`` a missing one (a typo is an error,
  not a new account).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import msgspec

from levpref.adapters import jsonwire
from levpref.adapters.http.admin import token_hash
from levpref.adapters.http.admin_render import account_pools, account_view, audit_page
from levpref.adapters.http.observability import configure_logging
from levpref.adapters.secretbox import SecretBox, pending_key_file, write_key_file
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.audit import audit_query
from levpref.adapters.wire.scenario import decode_instruments, read_instruments_file
from levpref.bootstrap import ADMIN_TOKEN_META, make_secrets
from levpref.config import Config
from levpref.loading import load_file
from levpref.service.admin import WORLD, AdminService
from levpref.service.audit import iso_time
from levpref.service.operator import OperatorViews
from levpref.service.records import AuditRecord
from levpref.serving import CommandError, check_scenario_file, new_admin_token, open_migrated


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def config_of(args: argparse.Namespace, **extra: object) -> Config:
    """The configuration: defaults, ``LEVPREF_*`` variables, then the flags given (and ``extra``)."""
    given = {f.name: getattr(args, f.name, None) for f in fields(Config)}
    return Config.from_env(None, **{**given, **extra})


# --- the tools --------------------------------------------------------------------------------------------------


def _tool_config(args: argparse.Namespace, *, create: bool = False) -> Config:
    config = config_of(args)
    configure_logging(config.log_level, config.log_format)
    if config.is_sqlite and not create and not Path(config.sqlite_path).exists():
        raise CommandError(
            f"no database at {config.sqlite_path} (`levpref serve` or `levpref demo` creates it; "
            "or give --database-url or LEVPREF_DATABASE_URL)"
        )
    return config


def _with_admin(config: Config, action: Callable[[AdminService], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        store = await open_migrated(config)
        try:
            return await action(AdminService(store, make_secrets(config), actor="cli"))
        finally:
            await store.close()

    return asyncio.run(run())


def _print(data: Any) -> None:
    print(_pretty(data))


def _pretty(data: Any) -> str:
    """Indented JSON with Decimals printed exactly (never through float)."""
    return msgspec.json.format(jsonwire.dumps(data), indent=2).decode()


def migrate(args: argparse.Namespace) -> int:
    _with_admin(_tool_config(args, create=True), lambda a: asyncio.sleep(0))
    print("migrated")
    return 0


def admin_token(args: argparse.Namespace) -> int:
    config = _tool_config(args)

    async def settle(a: AdminService) -> str | None:
        async with a.store.transaction() as tx:
            if not args.rotate:
                return await tx.meta(ADMIN_TOKEN_META)
            token = new_admin_token()
            await tx.set_meta(ADMIN_TOKEN_META, token_hash(token))
            await tx.add_audit(
                AuditRecord(WORLD, iso_time(now_ms()), "cli", "rotate_admin_token", None, {}, {}, None, "-")
            )
            return token

    found = _with_admin(config, settle)
    if args.rotate:
        print(found)
        print(
            "a new admin token is stored (the line above, printed once); running servers read it when they start: "
            "restart them, and give none of them --admin-token or LEVPREF_ADMIN_TOKEN, which would replace it",
            file=sys.stderr,
        )
    elif found:
        print(
            "an admin token is set (stored as a hash, it cannot be shown); "
            "`levpref admin-token --rotate` prints a new one"
        )
    else:
        print(
            "no admin token is set yet: `levpref serve` makes one at its first start, or `levpref admin-token --rotate`"
        )
    return 0


def scenario_load(args: argparse.Namespace) -> int:
    path = Path(args.file)
    check_scenario_file(path)
    config = _tool_config(args, create=True)
    now = now_ms()

    async def load(a: AdminService) -> Any:
        return await load_file(path, a.store, make_secrets(config), now)

    counts, issued = _with_admin(config, load)
    keys = [{"account": k.account_id, "public": k.public, "secret": k.secret, "access": k.access} for k in issued]
    _print({"loaded": args.file, "counts": counts.as_dict(), "keys": keys})
    return 0


def scenario_export(args: argparse.Namespace) -> int:
    data = _with_admin(_tool_config(args), lambda a: a.export_scenario(with_secrets=args.with_secrets))
    text = _pretty(data)
    if args.file:
        Path(args.file).write_text(text + "\n")
    else:
        print(text)
    return 0


def accounts_list(args: argparse.Namespace) -> int:
    async def every(a: AdminService) -> list[dict[str, Any]]:
        views, listed, after = OperatorViews(a.store), [], ""
        while page := await views.accounts(after):
            listed += [{"id": s.account_id, "active": s.active} for s in page]
            after = page[-1].account_id
        return listed

    _print({"accounts": _with_admin(_tool_config(args), every)})
    return 0


async def _exists(a: AdminService, account: str) -> bool:
    async with a.store.transaction() as tx:
        return await tx.lock_account(account) is not None


def accounts_add(args: argparse.Namespace) -> int:
    account, active = args.account, not args.inactive

    async def add(a: AdminService) -> None:
        if await _exists(a, account):
            raise CommandError(
                f"account {account} already exists (`levpref accounts activate {account}` to activate it)"
            )
        await a.upsert_account(account, active=active, now_ms=now_ms())

    _with_admin(_tool_config(args), add)
    print(f"account {account} created, active={active}")
    return 0


def _set_active(args: argparse.Namespace, active: bool) -> int:
    account = args.account

    async def change(a: AdminService) -> None:
        if not await _exists(a, account):
            raise CommandError(f"no account {account} (`levpref accounts list` lists them; `accounts add` creates one)")
        await a.upsert_account(account, active=active, now_ms=now_ms())

    _with_admin(_tool_config(args), change)
    print(f"account {account} active={active}")
    return 0


def accounts_activate(args: argparse.Namespace) -> int:
    return _set_active(args, True)


def accounts_deactivate(args: argparse.Namespace) -> int:
    return _set_active(args, False)


def accounts_show(args: argparse.Namespace) -> int:
    async def show(a: AdminService) -> dict[str, Any]:
        summary, prefs = await a.account(args.account)
        pools = account_pools(await OperatorViews(a.store).pools(args.account))
        view = account_view(args.account, summary, prefs)  # what GET /admin/v1/accounts/{id} answers, and:
        return {
            **msgspec.structs.asdict(view),
            "active": pools.active,
            "positions": pools.positions,
            "keys": pools.keys,
        }

    _print(_with_admin(_tool_config(args), show))
    return 0


def keys_list(args: argparse.Namespace) -> int:
    async def listing(a: AdminService) -> dict[str, Any]:
        keys = (await OperatorViews(a.store).pools(args.account)).keys
        return {
            "account": args.account,
            "keys": [
                {
                    "public": k.public_key,
                    "access": k.access,
                    "rate_budget": k.rate_budget,
                    "revoked": k.revoked,
                    "expires_ms": k.expires_ms,
                }
                for k in keys
            ],
        }

    _print(_with_admin(_tool_config(args), listing))
    return 0


def keys_create(args: argparse.Namespace) -> int:
    spec = wire.fields(
        wire.KeyBody,
        access="read" if args.read_only else "full",
        rate_budget=args.rate_budget,
        expires_ms=args.expires_ms,
    )
    now = now_ms()
    key = _with_admin(
        _tool_config(args), lambda a: a.create_key(args.account, spec.access, spec.rate_budget, now, spec.expires_ms)
    )
    _print(wire.KeyIssued(key.account_id, key.public, key.secret, key.access))  # as POST …/keys answers
    return 0


def keys_revoke(args: argparse.Namespace) -> int:
    _with_admin(_tool_config(args), lambda a: a.revoke_key(args.public, now_ms()))
    print("revoked")
    return 0


def collateral(args: argparse.Namespace) -> int:
    quantity = wire.plain(wire.fields(wire.CollateralBody, quantity=args.quantity).quantity)
    _with_admin(_tool_config(args), lambda a: a.set_collateral(args.account, args.currency, quantity, now_ms()))
    return 0


def prices(args: argparse.Namespace) -> int:
    currency = wire.fields(wire.CurrencyBody, price=args.price, haircut=args.haircut)
    price, haircut = wire.plain(currency.price), wire.plain(currency.haircut)
    _with_admin(_tool_config(args), lambda a: a.set_currency(args.currency, price, haircut, now_ms()))
    return 0


def position_set(args: argparse.Namespace) -> int:
    position = wire.fields(wire.PositionBody, size=args.size, entry_price=args.entry_price)
    size, entry = wire.plain(position.size), wire.plain(position.entry_price)
    _with_admin(_tool_config(args), lambda a: a.set_position(args.account, args.symbol, size, entry, now_ms()))
    return 0


def position_delete(args: argparse.Namespace) -> int:
    _with_admin(_tool_config(args), lambda a: a.delete_position(args.account, args.symbol, now_ms()))
    return 0


def marks(args: argparse.Namespace) -> int:
    mark = wire.plain(wire.fields(wire.MarkBody, price=args.price).price)
    _with_admin(_tool_config(args), lambda a: a.set_mark(args.symbol, mark, now_ms()))
    return 0


def instruments(args: argparse.Namespace) -> int:
    listed = decode_instruments(read_instruments_file(Path(args.file)))
    count = _with_admin(_tool_config(args), lambda a: a.load_instruments(listed, now_ms()))
    print(f"loaded {count} instruments")
    return 0


def rotate_master_key(args: argparse.Namespace) -> int:
    """New key → re-seal all secrets (one transaction) → swap the key file. Safe to re-run after a crash: while
    ``master.key.new`` exists, the server opens secrets with either key."""
    config, now = _tool_config(args), now_ms()
    new_key = secrets.token_bytes(32)
    if config.master_key:
        count = _with_admin(config, lambda a: a.reseal_secrets(SecretBox(new_key), now))
        print(f"re-sealed {count} secrets; set LEVPREF_MASTER_KEY={base64.b64encode(new_key).decode()}")
        return 0
    pending = pending_key_file(config.key_file)
    if not pending.exists():  # else resume an interrupted rotation with its key
        write_key_file(pending, new_key)
    new_key = base64.b64decode(pending.read_text().strip())
    count = _with_admin(config, lambda a: a.reseal_secrets(SecretBox(new_key), now))
    os.replace(pending, config.key_file)
    print(f"re-sealed {count} secrets under a new master key in {config.key_file}")
    return 0


def audit(args: argparse.Namespace) -> int:
    query = audit_query({"limit": args.limit}, args.account)
    page = _with_admin(_tool_config(args), lambda a: a.audit_page(query))
    _print(audit_page(page))
    return 0
