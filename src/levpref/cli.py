"""The ``levpref`` command: serve, demo, and the operator's tools (SPEC §4).

Rules:
- Every setting of ``Config`` is a flag here and a ``LEVPREF_*`` variable, built from the dataclass's fields, so
  none can be missing: ``serve`` and ``demo`` take them all, the other commands the database's.
- The tools (``commands.py``) act on the database directly (no server needed), on the same default database as
  ``serve`` and ``demo``.
- An operator's mistake is one line on stderr (``levpref: …``) and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import fields
from importlib import metadata
from typing import Any

import psycopg

from levpref import commands
from levpref.config import Config
from levpref.errors import AdminError
from levpref.serving import CommandError, demo_scenario, serve

DESCRIPTION = (
    "levpref: a Kraken Futures leverage-preferences server and its operator's tools. Every setting is a flag and "
    "a LEVPREF_* environment variable; the default database is ~/.local/share/levpref/levpref.db."
)


def _version() -> str:
    try:
        return metadata.version("levpref")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


# --- settings as flags ------------------------------------------------------------------------------------------


def _setting_flags(p: argparse.ArgumentParser, *, server: bool, skip: tuple[str, ...] = ()) -> None:
    """One flag per ``Config`` field of the command's scope, its help line from the field's metadata."""
    group = p.add_argument_group("settings (each also an environment variable, named in brackets)")
    for f in fields(Config):
        if f.name in skip or (f.metadata["scope"] == "server" and not server):
            continue
        flag = "--" + f.name.replace("_", "-")
        text = f.metadata["help"]
        if f.default not in (None, "", False) and "default" not in text:
            text += f"; default {f.default}"
        text += f" [LEVPREF_{f.name.upper()}]"
        kind = str(f.type)
        if kind == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif kind == "int":
            group.add_argument(flag, type=int, metavar="N", help=text)
        else:
            group.add_argument(flag, choices=f.metadata.get("choices"), metavar=f.metadata.get("metavar"), help=text)


# --- the parser -------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="levpref", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"levpref {_version()}", help="print the version")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of these (levpref COMMAND --help shows its flags)"
    )

    def command(name: str, text: str, run: Callable[[argparse.Namespace], int] | None, parent: Any = sub) -> Any:
        p = parent.add_parser(name, help=text, description=text)
        if run is not None:
            p.set_defaults(run=run)
        return p

    serve_p = command("serve", "run the server", _serve)
    _setting_flags(serve_p, server=True)
    demo_p = command("demo", "run the server on a fresh demo world, printing a key for each account", _demo)
    _setting_flags(demo_p, server=True, skip=("scenario",))

    _setting_flags(command("migrate", "create or update the database's tables", commands.migrate), server=False)
    token = command("admin-token", "say whether an admin token is set; --rotate replaces it", commands.admin_token)
    token.add_argument("--rotate", action="store_true", help="store a new admin token and print it (once)")
    _setting_flags(token, server=False)

    scenario = command("scenario", "load or export the whole world", None).add_subparsers(
        dest="action", required=True, metavar="ACTION", help="one of these"
    )
    load = command(
        "load", "replace the world with a scenario file; prints its keys and counts", commands.scenario_load, scenario
    )
    load.add_argument("file", help="a scenario file, TOML or JSON")
    export = command(
        "export", "print the world as a scenario (or write it to FILE)", commands.scenario_export, scenario
    )
    export.add_argument("file", nargs="?", help="where to write it (default: stdout)")
    export.add_argument("--with-secrets", action="store_true", help="include the API key secrets (a backup)")
    for p in (load, export):
        _setting_flags(p, server=False)

    accounts = command("accounts", "list, create, (de)activate or show accounts", None).add_subparsers(
        dest="action", required=True, metavar="ACTION", help="one of these"
    )
    _setting_flags(
        command("list", "list every account with its active flag", commands.accounts_list, accounts), server=False
    )
    add = command("add", "create an account (an error if it exists)", commands.accounts_add, accounts)
    add.add_argument("--inactive", action="store_true", help="create it inactive")
    activate = command("activate", "activate an existing account", commands.accounts_activate, accounts)
    deactivate = command("deactivate", "deactivate an existing account", commands.accounts_deactivate, accounts)
    show = command(
        "show", "an account: active flag, margin, positions, preferences, public keys", commands.accounts_show, accounts
    )
    for p in (add, activate, deactivate, show):
        p.add_argument("account", help="the account id")
        _setting_flags(p, server=False)

    keys = command("keys", "list, create or revoke API keys", None).add_subparsers(
        dest="action", required=True, metavar="ACTION", help="one of these"
    )
    listing = command("list", "an account's keys (public part, access, budget, revoked)", commands.keys_list, keys)
    listing.add_argument("account", help="the account id")
    create = command("create", "create a key; prints its public key and secret (once)", commands.keys_create, keys)
    create.add_argument("account", help="the account id")
    create.add_argument("--read-only", action="store_true", help="a read-only key (default: full access)")
    create.add_argument("--rate-budget", type=int, default=500, metavar="N", help="rate budget; default 500")
    create.add_argument("--expires-ms", type=int, metavar="MS", help="expiry, milliseconds since the epoch")
    revoke = command("revoke", "revoke a key", commands.keys_revoke, keys)
    revoke.add_argument("public", help="the key's public part")
    for p in (listing, create, revoke):
        _setting_flags(p, server=False)

    col = command("collateral", "set an account's collateral balance in a currency", commands.collateral)
    col.add_argument("account", help="the account id")
    col.add_argument("currency", help="a collateral currency (see prices)")
    col.add_argument("quantity", help="the balance, a plain decimal")
    _setting_flags(col, server=False)

    prices = command("prices", "list a collateral currency with its USD price and haircut", commands.prices)
    prices.add_argument("currency", help="the currency code")
    prices.add_argument("price", help="its price in USD")
    prices.add_argument("--haircut", default="0", help="its haircut, from 0 to 1; default 0")
    _setting_flags(prices, server=False)

    positions = command("positions", "set or delete a position", None).add_subparsers(
        dest="action", required=True, metavar="ACTION", help="one of these"
    )
    pos_set = command("set", "open or replace a position", commands.position_set, positions)
    pos_delete = command("delete", "delete a position", commands.position_delete, positions)
    for p in (pos_set, pos_delete):
        p.add_argument("account", help="the account id")
        p.add_argument("symbol", help="the contract")
    pos_set.add_argument("size", help="signed size in contracts (< 0 is short)")
    pos_set.add_argument("entry_price", help="the entry price")
    for p in (pos_set, pos_delete):
        _setting_flags(p, server=False)

    marks = command("marks", "set a contract's mark price", commands.marks)
    marks.add_argument("symbol", help="the contract")
    marks.add_argument("price", help="its mark price")
    _setting_flags(marks, server=False)

    inst = command(
        "instruments", "load instruments from a saved Kraken GET /instruments JSON file", commands.instruments
    )
    inst.add_argument("file", help="the saved JSON answer")
    _setting_flags(inst, server=False)

    rotate = command("rotate-master-key", "re-seal every API secret under a new master key", commands.rotate_master_key)
    _setting_flags(rotate, server=False)

    audit = command("audit", "print the audit log, newest first", commands.audit)
    audit.add_argument("account", nargs="?", help="only this account's entries")
    audit.add_argument("--limit", default="100", help="entries to show, 1 to 1000; default 100")
    _setting_flags(audit, server=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_attach_dash_values(parser, sys.argv[1:] if argv is None else argv))
    try:
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except KeyboardInterrupt:
        return 130
    except (AdminError, CommandError, ValueError, OSError, psycopg.Error, sqlite3.Error) as exc:
        print(f"levpref: {_one_line(exc)}", file=sys.stderr)
        return 2


def _attach_dash_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--flag -value`` as ``--flag=-value`` for a flag that takes a value, so a value may begin with ``-`` (a
    token from ``secrets.token_urlsafe`` does, one time in 64); argparse would take it for an unknown option."""
    takes_value: set[str] = set()
    known: set[str] = set()
    parsers = [parser]
    while parsers:
        for action in parsers.pop()._actions:  # argparse keeps no public list of a parser's actions
            known.update(action.option_strings)
            if action.option_strings and action.nargs is None:
                takes_value.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                parsers += action.choices.values()
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in takes_value and arg.startswith("-") and arg.split("=")[0] not in known:
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror.lower()}"
    return " ".join(str(exc).split()) or type(exc).__name__


# --- serving ----------------------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    serve(commands.config_of(args))
    return 0


def _demo(args: argparse.Namespace) -> int:
    serve(commands.config_of(args, scenario=demo_scenario()), demo=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
