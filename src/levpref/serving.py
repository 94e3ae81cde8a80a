"""Running the server: ``levpref serve`` and ``levpref demo`` (SPEC §4).

Rules:
- Nothing is touched before the address is known to be free and the database is ours. The port is bound first
  (so a second demo fails with "address already in use" before it loads anything); then a lock file beside a
  SQLite database is taken, shared by ``serve`` (several servers may share one file) and exclusive by ``demo``
  (which replaces the world), so a demo never wipes a world another process is serving, nor the reverse.
- The socket bound here is the one uvicorn serves (``Server.run(sockets=…)``, or its supervisor with
  ``--workers N``): what was checked is what listens. One ``listening on …`` line is logged when it does.
- Every log line of the process and of its workers goes through one formatter (``--log-format``), uvicorn's too.
- The admin token is printed only when it is made here: by ``serve`` when none is stored yet, by ``demo`` at every
  start (a fresh world, a fresh token) unless one is given. A given token is never echoed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import fcntl
import logging
import os
import secrets
import socket
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import IO

from levpref.adapters.http.admin import token_hash
from levpref.adapters.http.observability import NOTICE_LOGGER, configure_logging, logging_config
from levpref.adapters.storage.postgres import server_of
from levpref.bootstrap import ADMIN_TOKEN_META, make_secrets, open_store
from levpref.config import Config
from levpref.errors import LevprefError
from levpref.loading import Counts, load_file
from levpref.service.admin import IssuedKey
from levpref.service.ports import Store

log = logging.getLogger(NOTICE_LOGGER)
BACKLOG = 2048
DEMO_ACCOUNTS_NOTE = "one full-access key per account of the demo world"


class CommandError(LevprefError):
    """An operator's mistake or a condition the command cannot work around, reported in one line (exit 2)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Started:
    """What the setup before serving did: the configuration as bound, what was loaded, the admin token's state."""

    config: Config
    counts: Counts | None
    issued: list[IssuedKey]
    token_note: str


async def open_migrated(config: Config) -> Store:
    """The configured store, open and migrated (an unreachable PostgreSQL is ``StoreUnavailable`` within 5 s)."""
    store = await open_store(config)
    try:
        await store.migrate()
    except BaseException:
        await store.close()
        raise
    return store


def demo_scenario() -> str:
    return str(resources.files("levpref") / "data" / "demo.toml")


def serve(config: Config, *, demo: bool = False) -> None:
    """Check, bind, lock, prepare the database, say what happened, then serve until stopped."""
    configure_logging(config.log_level, config.log_format)
    if config.scenario:
        check_scenario_file(Path(config.scenario))
    sock = bind(config)
    lock = lock_database(config, exclusive=demo)
    try:
        started = _prepare(dataclasses.replace(config, port=sock.getsockname()[1]), fresh_token=demo)
        if demo:
            print_demo_banner(started)
        else:
            if started.counts is not None:
                print(f"loaded {Path(str(config.scenario)).name}: {started.counts}", flush=True)
            print(started.token_note, flush=True)
        _run(started.config, sock)
    finally:
        sock.close()
        if lock is not None:
            lock.close()


def check_scenario_file(path: Path) -> None:
    if path.is_dir():
        raise CommandError(f"scenario {path} is a directory, not a scenario file (TOML or JSON)")
    if not path.exists():
        raise CommandError(f"scenario {path}: no such file")


def bind(config: Config) -> socket.socket:
    """The listening address, bound (not yet listening): taken now, so nothing is loaded for a port in use."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        sock.close()
        reason = (exc.strerror or str(exc)).lower()
        if exc.errno == errno.EADDRINUSE:
            reason += "; is another levpref demo or server running? choose another --port"
        raise CommandError(f"cannot listen on {config.host}:{config.port}: {reason}") from None
    sock.set_inheritable(True)  # worker processes serve it
    return sock


def lock_database(config: Config, *, exclusive: bool) -> IO[bytes] | None:
    """``<database>.lock`` beside a SQLite file, locked (``flock``) for as long as this process lives."""
    if not config.is_sqlite:
        return None
    path = Path(config.sqlite_path + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+b")
    try:
        fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        if exclusive:
            raise CommandError(
                f"another levpref process (a demo or a server) is using {config.sqlite_path}: stop it first, "
                "or give this demo its own --database-url"
            ) from None
        raise CommandError(
            f"a levpref demo is running on {config.sqlite_path}: stop it first, or give --database-url"
        ) from None
    return handle


def _prepare(config: Config, *, fresh_token: bool) -> Started:
    async def setup() -> Started:
        store = await open_migrated(config)
        try:
            note = await settle_admin_token(store, config.admin_token, fresh=fresh_token)
            counts: Counts | None = None
            issued: list[IssuedKey] = []
            if config.scenario:
                counts, issued = await load_file(Path(config.scenario), store, make_secrets(config), _now_ms())
            return Started(config, counts, issued, note)
        finally:
            await store.close()

    return asyncio.run(setup())


async def settle_admin_token(store: Store, given: str | None, *, fresh: bool) -> str:
    """Store the admin token's hash (a new token's when none is given and none is kept); returns the line that
    says where the token is (with the token itself when it was made here)."""
    async with store.transaction() as tx:
        if given:
            await tx.set_meta(ADMIN_TOKEN_META, token_hash(given))
            return "admin token: the one given (--admin-token or LEVPREF_ADMIN_TOKEN)"
        if not fresh and await tx.meta(ADMIN_TOKEN_META) is not None:
            return (
                "admin token: set earlier and stored as a hash (not shown); "
                "`levpref admin-token --rotate` prints a new one"
            )
        token = new_admin_token()
        await tx.set_meta(ADMIN_TOKEN_META, token_hash(token))
    if fresh:
        return f"admin token: {token} (a new one at every start of the demo; --admin-token keeps yours)"
    return f"admin token (printed once, store it): {token}"


def new_admin_token() -> str:
    """43 URL-safe characters, never beginning with ``-`` (so it can follow a flag as typed)."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


def print_demo_banner(started: Started) -> None:
    config = started.config
    base = url_of(config)
    full = _first_keys(started.issued, "full")
    demo = full.get("demo") or next(iter(full.values()))
    read = _first_keys(started.issued, "read").get(demo.account_id)
    lines = [
        f"levpref demo on {base}",
        f"  base URL:   {base}/derivatives/api/v3",
        f"  API key:    {demo.public}",
        f"  API secret: {demo.secret}",
    ]
    if read:
        lines.append(f"  read-only key: {read.public}  secret: {read.secret}")
    width = max(len(account) for account in full)
    lines.append(f"  {DEMO_ACCOUNTS_NOTE}:")
    lines += [f"    {account:<{width}}  key: {k.public}  secret: {k.secret}" for account, k in full.items()]
    lines += [
        f"  {started.token_note}",
        f"  world:      {started.counts} (the demo world, levpref/data/demo.toml)",
        f"  database:   {database_label(config)} (the levpref commands use it too)",
        "  ccxt:  ex = ccxt.krakenfutures({'apiKey': KEY, 'secret': SECRET}); "
        f"ex.urls['api'] = {{'public': '{base}/derivatives/api/', 'private': '{base}/derivatives/api/'}}",
        f"  python-kraken-sdk:  Market(key=KEY, secret=SECRET, url='{base}')",
    ]
    print("\n".join(lines), flush=True)


def _first_keys(issued: list[IssuedKey], access: str) -> dict[str, IssuedKey]:
    """Each account's first key of ``access``, in the scenario's order."""
    first: dict[str, IssuedKey] = {}
    for key in issued:
        if key.access == access:
            first.setdefault(key.account_id, key)
    return first


def database_label(config: Config) -> str:
    """The SQLite file, or the PostgreSQL server without its password."""
    return config.sqlite_path if config.is_sqlite else server_of(config.database_url)


def url_of(config: Config) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"http://{host}:{config.port}"


def _run(config: Config, sock: socket.socket) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ.update(config.to_env())
    if config.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="levpref-metrics-")
    server_config = uvicorn.Config(
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
        log_config=logging_config(config.log_level, config.log_format),
        log_level=config.log_level,
        access_log=False,
        timeout_keep_alive=30,
        limit_concurrency=2048,  # the protocol bounds requests in progress itself (max_requests_in_progress)
        backlog=BACKLOG,
        h11_max_incomplete_event_size=config.max_header_bytes,
    )
    sock.listen(BACKLOG)
    log.info("listening on %s", url_of(config), extra={"workers": config.workers})
    if config.workers > 1:
        Multiprocess(server_config, sockets=[sock]).run()
        return
    server = uvicorn.Server(server_config)
    server.run(sockets=[sock])
    if not server.started:
        raise CommandError("the server did not start (see the log above)")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
