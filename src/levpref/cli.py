"""The ``levpref`` command: serve, demo, and the operator's tools (SPEC §4).

Every setting has a flag here and a ``LEVPREF_*`` environment variable (see ``config.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from levpref.adapters import jsonwire
from levpref.adapters.http.admin import account_view
from levpref.adapters.http.render import audit_entries
from levpref.adapters.secretbox import SecretBox, pending_key_file, write_key_file
from levpref.adapters.wire import admin as wire
from levpref.adapters.wire.audit import audit_query, next_cursor
from levpref.adapters.wire.scenario import decode_instruments, read_instruments_file, read_scenario_file
from levpref.bootstrap import make_secrets, prepare
from levpref.config import Config
from levpref.errors import AdminError
from levpref.service.admin import AdminService


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="sqlite:///PATH (default .levpref/levpref.db) or postgresql://…")
    p.add_argument("--master-key-file", help="AES key file for API secrets (created 0600 when missing)")


def _config(args: argparse.Namespace, **extra: object) -> Config:
    given: dict[str, object] = {
        k: getattr(args, k, None)
        for k in (
            "database_url",
            "master_key_file",
            "host",
            "port",
            "workers",
            "admin_token",
            "scenario",
            "nonce_window",
            "log_level",
            "max_header_bytes",
            "read_timeout",
        )
    }
    if getattr(args, "require_nonce", False):
        given["require_nonce"] = True
    return Config.from_env(None, **{**given, **extra})


def _print(data: Any) -> None:
    print(_pretty(data))


def _pretty(data: Any) -> str:
    """Indented JSON with Decimals printed exactly (never through float)."""
    return msgspec.json.format(jsonwire.dumps(data), indent=2).decode()


async def _with_admin(config: Config, action: Callable[[AdminService], Awaitable[Any]]) -> Any:
    store, token = await prepare(config)
    try:
        if token:
            print(f"admin token (printed once, store it): {token}", file=sys.stderr)
        return await action(AdminService(store, make_secrets(config), actor="cli"))
    finally:
        await store.close()


def _serve(config: Config, *, banner: Callable[[Config, list[Any]], None] | None = None) -> None:
    import uvicorn

    async def setup() -> list[Any]:
        store, token = await prepare(config)
        issued: list[Any] = []
        try:
            if token:
                print(f"admin token (printed once, store it): {token}", flush=True)
            if config.scenario:
                scenario = read_scenario_file(Path(config.scenario))
                issued = await AdminService(store, make_secrets(config), actor="cli").load_scenario(scenario, _now_ms())
        finally:
            await store.close()
        return issued

    issued = asyncio.run(setup())
    if banner:
        banner(config, issued)
    os.environ.update(config.to_env())
    if config.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="levpref-metrics-")
    uvicorn.run(
        "levpref.bootstrap:create_app",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        loop="uvloop",
        http="levpref.adapters.http.protocol:BoundedHttpToolsProtocol",  # httptools + head size/read time bounds
        ws="none",
        proxy_headers=False,  # the app decides whether to trust X-Forwarded-For (LEVPREF_TRUST_FORWARDED)
        lifespan="on",
        access_log=False,
        log_level=config.log_level,
        timeout_keep_alive=30,
        limit_concurrency=2048,
        h11_max_incomplete_event_size=config.max_header_bytes,
    )


def _demo_banner(config: Config, issued: list[Any]) -> None:
    base = f"http://{config.host}:{config.port}"
    full = next(k for k in issued if k.access == "full")
    read = next((k for k in issued if k.access == "read"), None)
    print(f"levpref demo on {base}", flush=True)
    print(f"  base URL:   {base}/derivatives/api/v3")
    print(f"  API key:    {full.public}")
    print(f"  API secret: {full.secret}")
    if read:
        print(f"  read-only key: {read.public}  secret: {read.secret}")
    print(
        "  ccxt:  ex = ccxt.krakenfutures({'apiKey': KEY, 'secret': SECRET}); "
        f"ex.urls['api'] = {{'public': '{base}/derivatives/api/', 'private': '{base}/derivatives/api/'}}"
    )
    print(f"  python-kraken-sdk:  Market(key=KEY, secret=SECRET, url='{base}')", flush=True)


def _rotate_master_key(config: Config, now: int) -> None:
    """New key → re-seal all secrets (one transaction) → swap the key file. Safe to re-run after a crash: while
    ``master.key.new`` exists, the server opens secrets with either key."""
    new_key = secrets.token_bytes(32)
    if config.master_key:
        count = asyncio.run(_with_admin(config, lambda a: a.reseal_secrets(SecretBox(new_key), now)))
        print(f"re-sealed {count} secrets; set LEVPREF_MASTER_KEY={base64.b64encode(new_key).decode()}")
        return
    pending = pending_key_file(config.key_file)
    if not pending.exists():  # else resume an interrupted rotation with its key
        write_key_file(pending, new_key)
    new_key = base64.b64decode(pending.read_text().strip())
    count = asyncio.run(_with_admin(config, lambda a: a.reseal_secrets(SecretBox(new_key), now)))
    os.replace(pending, config.key_file)
    print(f"re-sealed {count} secrets under a new master key in {config.key_file}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="levpref", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    demo = sub.add_parser("demo", help="run the server on a fresh demo world (embedded SQLite)")
    for p in (serve, demo):
        _config_flags(p)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        p.add_argument("--workers", type=int, help="server processes on this port")
        p.add_argument("--admin-token", help="admin API bearer token (default: generated and printed once)")
        p.add_argument("--nonce-window", type=int)
        p.add_argument("--require-nonce", action="store_true", help="refuse private requests without Nonce")
        p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"])
        p.add_argument("--max-header-bytes", type=int, help="largest request head (line + headers), default 65536")
        p.add_argument("--read-timeout", type=int, help="seconds a request may take to arrive whole, default 10")
    serve.add_argument("--scenario", help="a scenario file (TOML/JSON) to load at start, replacing the state")

    mig = sub.add_parser("migrate", help="apply database migrations")
    _config_flags(mig)

    sc = sub.add_parser("scenario", help="load or export the whole world")
    sc.add_argument("action", choices=["load", "export"])
    sc.add_argument("file", nargs="?")
    sc.add_argument("--with-secrets", action="store_true", help="export the API key secrets too (a backup)")
    _config_flags(sc)

    acc = sub.add_parser("accounts", help="create, (de)activate or show accounts")
    acc.add_argument("action", choices=["add", "activate", "deactivate", "show"])
    acc.add_argument("account")
    _config_flags(acc)

    keys = sub.add_parser("keys", help="create or revoke API keys")
    keys.add_argument("action", choices=["create", "revoke"])
    keys.add_argument("target", help="account id (create) or public key (revoke)")
    keys.add_argument("--read-only", action="store_true")
    keys.add_argument("--rate-budget", type=int, default=500)
    keys.add_argument("--expires-ms", type=int)
    _config_flags(keys)

    col = sub.add_parser("collateral", help="set a collateral balance")
    col.add_argument("account")
    col.add_argument("currency")
    col.add_argument("quantity")
    _config_flags(col)

    prices = sub.add_parser("prices", help="list a collateral currency with its USD price and haircut")
    prices.add_argument("currency")
    prices.add_argument("price")
    prices.add_argument("--haircut", default="0")
    _config_flags(prices)

    pos = sub.add_parser("positions", help="set or delete a position")
    pos.add_argument("action", choices=["set", "delete"])
    pos.add_argument("account")
    pos.add_argument("symbol")
    pos.add_argument("size", nargs="?")
    pos.add_argument("entry_price", nargs="?")
    _config_flags(pos)

    marks = sub.add_parser("marks", help="set a contract's mark price")
    marks.add_argument("symbol")
    marks.add_argument("price")
    _config_flags(marks)

    inst = sub.add_parser("instruments", help="load instruments from a Kraken GET /instruments JSON file")
    inst.add_argument("file")
    _config_flags(inst)

    rotate = sub.add_parser("rotate-master-key", help="re-seal every API secret under a new master key")
    _config_flags(rotate)

    audit = sub.add_parser("audit", help="print the audit log")
    audit.add_argument("account", nargs="?")
    audit.add_argument("--limit", default="100", help="entries to show, newest first (1 to 1000, default 100)")
    _config_flags(audit)

    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (AdminError, ValueError, FileNotFoundError) as exc:
        print(f"levpref: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    cmd = args.command
    if cmd == "serve":
        _serve(_config(args))
        return 0
    if cmd == "demo":
        demo_db = args.database_url or "sqlite:///.levpref/demo.db"
        scenario = str(resources.files("levpref") / "data" / "demo.toml")
        _serve(_config(args, database_url=demo_db, scenario=scenario), banner=_demo_banner)
        return 0
    config = _config(args)
    now = _now_ms()
    if cmd == "migrate":
        asyncio.run(_with_admin(config, lambda a: asyncio.sleep(0)))
        print("migrated")
    elif cmd == "scenario" and args.action == "load":
        if not args.file:
            raise ValueError("scenario load needs a file")
        world = read_scenario_file(Path(args.file))
        issued = asyncio.run(_with_admin(config, lambda a: a.load_scenario(world, now)))
        _print(
            {
                "loaded": args.file,
                "keys": [
                    {"account": k.account_id, "public": k.public, "secret": k.secret, "access": k.access}
                    for k in issued
                ],
            }
        )
    elif cmd == "scenario":
        data = asyncio.run(_with_admin(config, lambda a: a.export_scenario(with_secrets=args.with_secrets)))
        text = _pretty(data)
        if args.file:
            Path(args.file).write_text(text + "\n")
        else:
            print(text)
    elif cmd == "accounts":
        if args.action == "show":
            summary, prefs = asyncio.run(_with_admin(config, lambda a: a.account(args.account)))
            _print(account_view(args.account, summary, prefs))  # what GET /admin/v1/accounts/{id} answers
        else:
            active = args.action != "deactivate"
            asyncio.run(_with_admin(config, lambda a: a.upsert_account(args.account, active=active, now_ms=now)))
            print(f"account {args.account} active={active}")
    elif cmd == "keys" and args.action == "create":
        spec = wire.fields(
            wire.KeyBody,
            access="read" if args.read_only else "full",
            rate_budget=args.rate_budget,
            expires_ms=args.expires_ms,
        )
        key = asyncio.run(
            _with_admin(
                config, lambda a: a.create_key(args.target, spec.access, spec.rate_budget, now, spec.expires_ms)
            )
        )
        _print(wire.KeyIssued(key.account_id, key.public, key.secret, key.access))  # as POST …/keys answers
    elif cmd == "keys":
        asyncio.run(_with_admin(config, lambda a: a.revoke_key(args.target, now)))
        print("revoked")
    elif cmd == "collateral":
        quantity = wire.plain(wire.fields(wire.CollateralBody, quantity=args.quantity).quantity)
        asyncio.run(_with_admin(config, lambda a: a.set_collateral(args.account, args.currency, quantity, now)))
    elif cmd == "prices":
        currency = wire.fields(wire.CurrencyBody, price=args.price, haircut=args.haircut)
        price, haircut = wire.plain(currency.price), wire.plain(currency.haircut)
        asyncio.run(_with_admin(config, lambda a: a.set_currency(args.currency, price, haircut, now)))
    elif cmd == "positions" and args.action == "set":
        position = wire.fields(wire.PositionBody, size=args.size, entry_price=args.entry_price)
        size, entry = wire.plain(position.size), wire.plain(position.entry_price)
        asyncio.run(_with_admin(config, lambda a: a.set_position(args.account, args.symbol, size, entry, now)))
    elif cmd == "positions":
        asyncio.run(_with_admin(config, lambda a: a.delete_position(args.account, args.symbol, now)))
    elif cmd == "marks":
        mark = wire.plain(wire.fields(wire.MarkBody, price=args.price).price)
        asyncio.run(_with_admin(config, lambda a: a.set_mark(args.symbol, mark, now)))
    elif cmd == "instruments":
        listed = decode_instruments(read_instruments_file(Path(args.file)))
        count = asyncio.run(_with_admin(config, lambda a: a.load_instruments(listed, now)))
        print(f"loaded {count} instruments")
    elif cmd == "rotate-master-key":
        _rotate_master_key(config, now)
    elif cmd == "audit":
        query = audit_query({"limit": args.limit}, args.account)
        page = asyncio.run(_with_admin(config, lambda a: a.audit_page(query)))
        _print({**audit_entries(page.entries), "next": next_cursor(page)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
