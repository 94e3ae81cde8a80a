"""The composition root: the only place that names concrete adapters."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import secrets
import signal
import sys

from levpref.adapters.http.admin import AdminApi, token_hash
from levpref.adapters.http.app import LevprefApp
from levpref.adapters.http.asgi import Receive, Scope, Send
from levpref.adapters.http.observability import configure_logging
from levpref.adapters.secretbox import SecretBox, load_master_keys
from levpref.adapters.storage.postgres import PostgresStore
from levpref.adapters.storage.sqlite import SqliteStore
from levpref.config import Config
from levpref.service.admin import AdminService
from levpref.service.kraken import AuthSettings, KrakenService
from levpref.service.operator import OperatorViews
from levpref.service.ports import Store

ADMIN_TOKEN_META = "admin_token_sha256"  # noqa: S105 - the name of a meta row, not a secret
log = logging.getLogger("levpref")


def make_store(config: Config) -> Store:
    if config.is_sqlite:
        return SqliteStore(
            config.sqlite_path, synchronous=config.sqlite_synchronous.upper(), wal_limit=config.sqlite_wal_limit
        )
    return PostgresStore(config.database_url, max_size=config.pg_pool_size)


async def open_store(config: Config) -> Store:
    store = make_store(config)
    if isinstance(store, PostgresStore):
        await store.open()
    return store


def make_secrets(config: Config) -> SecretBox:
    return SecretBox(*load_master_keys(config.master_key, config.key_file))


async def prepare(config: Config) -> tuple[Store, str | None]:
    """Migrate, and settle the admin token: returns a newly generated token (to print once) or ``None``."""
    store = await open_store(config)
    await store.migrate()
    generated = None
    async with store.transaction() as tx:
        if config.admin_token:
            await tx.set_meta(ADMIN_TOKEN_META, token_hash(config.admin_token))
        elif await tx.meta(ADMIN_TOKEN_META) is None:
            generated = secrets.token_urlsafe(32)
            await tx.set_meta(ADMIN_TOKEN_META, token_hash(generated))
    return store, generated


async def build_app(config: Config) -> LevprefApp:
    configure_logging(config.log_level, config.log_format)
    store = await open_store(config)
    async with store.transaction() as tx:
        stored = await tx.meta(ADMIN_TOKEN_META)
    box = make_secrets(config)
    kraken = KrakenService(
        store, box, AuthSettings(config.nonce_window, config.require_nonce, config.failed_auth_limit)
    )
    admin = AdminApi(
        AdminService(store, box),
        OperatorViews(store),
        stored or token_hash(secrets.token_urlsafe(32)),
        failed_auth_limit=config.failed_auth_limit,
    )
    return LevprefApp(
        kraken,
        admin,
        max_body=config.max_body,
        trust_forwarded=config.trust_forwarded,
        trusted_hops=config.trusted_hops,
        on_shutdown=store.close,
    )


class LazyApp:
    """An ASGI app that builds itself inside the worker's event loop (PostgreSQL pools need one)."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._app: LevprefApp | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            async with self._lock:
                if self._app is None:
                    self._app = await build_app(self._config)
        await self._app(scope, receive, send)


def exit_with_supervisor() -> None:
    """In a worker of ``--workers N``: be sent SIGTERM when the supervisor dies (even by ``kill -9``), so that no
    orphan keeps serving the port; exit at once if it is already gone (Linux ``prctl(PR_SET_PDEATHSIG)``)."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("cannot ask to follow the supervisor (prctl failed); orphaned workers may outlive it")
    if os.getppid() == 1:  # the supervisor died before the request took effect
        os._exit(0)


def create_app() -> LazyApp:
    """uvicorn's factory: each worker process builds its app from ``LEVPREF_*`` variables."""
    config = Config.from_env()
    if config.workers > 1:
        exit_with_supervisor()
    return LazyApp(config)
