"""The ``levpref`` command: serve, demo, and the operator's tools (SPEC §4).

Rules:
- The commands are one table, ``COMMANDS``: a row per command (its words, help line, the function that runs it,
  its own arguments as data), and the parser is derived from it; adding a command is a row and its function.
- Every setting of ``Config`` is a flag here and a ``LEVPREF_*`` variable, built from the dataclass's fields, so
  none can be missing: ``serve`` takes them all, ``demo`` all but ``--scenario`` (it makes its own world), the
  other commands the database's.
- The tools (``commands.py``) act on the database directly (no server needed), on the same default database as
  ``serve`` and ``demo``.
- An operator's mistake is one line on stderr (``levpref: …``) and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from importlib import metadata
from typing import Any, Literal, TypeAlias

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


# --- the command table ------------------------------------------------------------------------------------------


Runner: TypeAlias = Callable[[argparse.Namespace], int]  # its exit status


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a command: a positional (``account``) or a flag (``--limit``), with argparse's options."""

    name: str
    help: str
    options: Mapping[str, Any] = field(default_factory=dict)


def arg(name: str, text: str, **options: Any) -> Arg:
    """``Arg`` with argparse's keywords as keywords: ``arg("--limit", "entries to show", default="100")``."""
    return Arg(name, text, options)


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its words (``("accounts", "show")``), help line, the function that runs it, its own arguments,
    and which settings it takes as flags (``store``: the database's; ``server``: all, less ``skip``)."""

    path: tuple[str, ...]
    help: str
    run: Runner
    args: tuple[Arg, ...] = ()
    settings: Literal["store", "server"] = "store"
    skip: tuple[str, ...] = ()


def _serve(args: argparse.Namespace) -> int:
    serve(commands.config_of(args))
    return 0


def _demo(args: argparse.Namespace) -> int:
    serve(commands.config_of(args, scenario=demo_scenario()), demo=True)
    return 0


ACCOUNT = arg("account", "the account id")
SYMBOL = arg("symbol", "the contract")

GROUPS: Mapping[str, str] = {  # the first word of the two-word commands, with its help line
    "scenario": "load or export the whole world",
    "accounts": "list, create, (de)activate or show accounts",
    "keys": "list, create or revoke API keys",
    "positions": "set or delete a position",
}

# In ``levpref --help`` order; a group is listed where its first command is.
COMMANDS: tuple[Command, ...] = (
    Command(("serve",), "run the server", _serve, settings="server"),
    Command(
        ("demo",),
        "run the server on a fresh demo world, printing a key for each account",
        _demo,
        settings="server",
        skip=("scenario",),
    ),
    Command(("migrate",), "create or update the database's tables", commands.migrate),
    Command(
        ("admin-token",),
        "say whether an admin token is set; --rotate replaces it",
        commands.admin_token,
        args=(arg("--rotate", "store a new admin token and print it (once)", action="store_true"),),
    ),
    Command(
        ("scenario", "load"),
        "replace the world with a scenario file; prints its keys and counts",
        commands.scenario_load,
        args=(arg("file", "a scenario file, TOML or JSON"),),
    ),
    Command(
        ("scenario", "export"),
        "print the world as a scenario (or write it to FILE)",
        commands.scenario_export,
        args=(
            arg("file", "where to write it (default: stdout)", nargs="?"),
            arg("--with-secrets", "include the API key secrets (a backup)", action="store_true"),
        ),
    ),
    Command(("accounts", "list"), "list every account with its active flag", commands.accounts_list),
    Command(
        ("accounts", "add"),
        "create an account (an error if it exists)",
        commands.accounts_add,
        args=(arg("--inactive", "create it inactive", action="store_true"), ACCOUNT),
    ),
    Command(("accounts", "activate"), "activate an existing account", commands.accounts_activate, args=(ACCOUNT,)),
    Command(
        ("accounts", "deactivate"), "deactivate an existing account", commands.accounts_deactivate, args=(ACCOUNT,)
    ),
    Command(
        ("accounts", "show"),
        "an account: active flag, margin, positions, preferences, public keys",
        commands.accounts_show,
        args=(ACCOUNT,),
    ),
    Command(
        ("keys", "list"),
        "an account's keys (public part, access, budget, revoked)",
        commands.keys_list,
        args=(ACCOUNT,),
    ),
    Command(
        ("keys", "create"),
        "create a key; prints its public key and secret (once)",
        commands.keys_create,
        args=(
            ACCOUNT,
            arg("--read-only", "a read-only key (default: full access)", action="store_true"),
            arg("--rate-budget", "rate budget; default 500", type=int, default=500, metavar="N"),
            arg("--expires-ms", "expiry, milliseconds since the epoch", type=int, metavar="MS"),
        ),
    ),
    Command(("keys", "revoke"), "revoke a key", commands.keys_revoke, args=(arg("public", "the key's public part"),)),
    Command(
        ("collateral",),
        "set an account's collateral balance in a currency",
        commands.collateral,
        args=(
            ACCOUNT,
            arg("currency", "a collateral currency (see prices)"),
            arg("quantity", "the balance, a plain decimal"),
        ),
    ),
    Command(
        ("prices",),
        "list a collateral currency with its USD price and haircut",
        commands.prices,
        args=(
            arg("currency", "the currency code"),
            arg("price", "its price in USD"),
            arg("--haircut", "its haircut, from 0 to 1; default 0", default="0"),
        ),
    ),
    Command(
        ("positions", "set"),
        "open or replace a position",
        commands.position_set,
        args=(
            ACCOUNT,
            SYMBOL,
            arg("size", "signed size in contracts (< 0 is short)"),
            arg("entry_price", "the entry price"),
        ),
    ),
    Command(("positions", "delete"), "delete a position", commands.position_delete, args=(ACCOUNT, SYMBOL)),
    Command(("marks",), "set a contract's mark price", commands.marks, args=(SYMBOL, arg("price", "its mark price"))),
    Command(
        ("instruments",),
        "load instruments from a saved Kraken GET /instruments JSON file",
        commands.instruments,
        args=(arg("file", "the saved JSON answer"),),
    ),
    Command(("rotate-master-key",), "re-seal every API secret under a new master key", commands.rotate_master_key),
    Command(
        ("audit",),
        "print the audit log, newest first",
        commands.audit,
        args=(
            arg("account", "only this account's entries", nargs="?"),
            arg("--limit", "entries to show, 1 to 1000; default 100", default="100"),
        ),
    ),
)


# --- the parser, derived from the table -------------------------------------------------------------------------

# argparse's (non-public) type for a parser's list of subcommands
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def build_parser() -> argparse.ArgumentParser:
    """The ``levpref`` parser: one subparser per row of ``COMMANDS``, under its group's for a two-word command."""
    parser = argparse.ArgumentParser(prog="levpref", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"levpref {_version()}", help="print the version")
    top = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="one of these (levpref COMMAND --help shows its flags)"
    )
    groups: dict[str, Subparsers] = {}
    for command in COMMANDS:
        *group, name = command.path
        under = _group(top, groups, group[0]) if group else top
        _add_command(under, name, command)
    return parser


def _group(top: Subparsers, groups: dict[str, Subparsers], name: str) -> Subparsers:
    """The subcommands of group ``name``, made on first use (so it is listed where its first command is)."""
    if name not in groups:
        parser = top.add_parser(name, help=GROUPS[name], description=GROUPS[name])
        groups[name] = parser.add_subparsers(dest="action", required=True, metavar="ACTION", help="one of these")
    return groups[name]


def _add_command(under: Subparsers, name: str, command: Command) -> None:
    """The command's parser: its arguments, then its settings as flags (so ``--help`` lists its own first)."""
    parser = under.add_parser(name, help=command.help, description=command.help)
    parser.set_defaults(run=command.run)
    for a in command.args:
        parser.add_argument(a.name, help=a.help, **a.options)
    _setting_flags(parser, server=command.settings == "server", skip=command.skip)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_attach_dash_values(parser, sys.argv[1:] if argv is None else argv))
    try:
        run: Runner = args.run
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


if __name__ == "__main__":
    raise SystemExit(main())
