"""The PostgreSQL store: a psycopg 3 async connection pool; row locks serialise writers per key and account.

Rules:
- Each transaction is ``READ COMMITTED`` (its ``BEGIN`` says so, whatever the server's default) with
  ``SELECT … FOR UPDATE`` on the API key row and then the account row, always in that order, so the changes of
  one key and of one account are serial across every process and node. Each statement after a lock reads the
  latest committed rows.
- A transaction is one pipeline whose ``BEGIN`` and ``COMMIT`` are ordinary queued statements: it waits for the
  server once per read and once at the end (pending writes, ``COMMIT`` and the pipeline's Sync travel together).
  psycopg's own ``transaction()`` in pipeline mode waits after ``BEGIN`` and after ``COMMIT``, and its pipeline's
  exit once more: measured with strace, an accepted PUT waited 6 times where 3 were counted.
- Nonces have a primary key ``(public_key, nonce)``: even a bug in locking cannot accept a nonce twice.
- Migrations run under a transaction-scoped advisory lock, so several nodes can start at once.
- The SQL is the shared text of ``sql.py``; only the placeholders differ (``?`` → ``%s``, a literal ``%`` → ``%%``).
- Opening gives up after ``CONNECT_TIMEOUT`` seconds with ``StoreUnavailable``, naming the server (never the
  password) and libpq's reason: an unreachable database is a one-line message, not a long wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncPipeline
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from levpref.adapters.storage.account_sums import AccountSums
from levpref.adapters.storage.schema import MIGRATIONS, statements
from levpref.adapters.storage.sql import COUNTS, Params, Row, SqlTx

_MIGRATION_LOCK = 74_021_117  # the advisory lock key of migrations (any constant shared by all nodes)
_AUTOID = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
CONNECT_TIMEOUT = 5  # seconds to open the store (libpq's connect_timeout for every connection, too)


class StoreUnavailable(ConnectionError):
    """The database did not let levpref in: unreachable, refused, or it refused the credentials."""


def server_of(url: str) -> str:
    """``user@host:port/dbname`` of a connection URL, without its password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "the configured PostgreSQL server"
    where = f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or ''}"
    return f"{info['user']}@{where}" if info.get("user") else where


@lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


_COUNT = COUNTS["postgresql"]


class _PgDriver:
    """Statements of one transaction, sent in pipeline mode: a write whose result nobody reads (``defer``) waits
    for the next read, or for the COMMIT, and travels with it. So a request costs a round trip per read it has to
    wait for, plus one for its writes and the COMMIT (BEGIN travels with the first read)."""

    for_update = "FOR UPDATE"

    def __init__(self, conn: AsyncConnection[Any], pipeline: AsyncPipeline) -> None:
        self._conn = conn
        self._pipeline = pipeline

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        _COUNT[0] += 1
        _COUNT[1] += 1
        cur = await self._conn.execute(_pg(sql), params, prepare=True)
        return await cur.fetchall()  # flushes what is pending and waits for this result

    async def execute(self, sql: str, params: Params = ()) -> int:
        _COUNT[0] += 1
        _COUNT[1] += 1
        cur = await self._conn.execute(_pg(sql), params, prepare=True)
        await self._pipeline.sync()  # the caller reads the row count
        return cur.rowcount

    async def defer(self, sql: str, params: Params = ()) -> None:
        _COUNT[0] += 1
        await self._conn.execute(_pg(sql), params, prepare=True)

    async def fetch_together(self, *statements: tuple[str, Params]) -> list[list[Row]]:
        _COUNT[0] += len(statements)
        _COUNT[1] += 1
        cursors = [await self._conn.execute(_pg(sql), params, prepare=True) for sql, params in statements]
        return [await cursor.fetchall() for cursor in cursors]  # the first fetch flushes them all and waits once


async def _configure(conn: AsyncConnection[Any]) -> None:
    """Every pooled connection: autocommit, so psycopg sends no ``BEGIN`` or ``COMMIT`` of its own; every
    transaction begins with ``_BEGIN`` (the locking rules above rely on its isolation level)."""
    await conn.set_autocommit(True)


_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"


class PostgresStore:
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self._sums = AccountSums()  # the kept sums of large accounts of this database (account_sums.py)
        self._pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=False,
            configure=_configure,
            kwargs={"application_name": "levpref", "connect_timeout": CONNECT_TIMEOUT},
            name="levpref",
        )

    async def open(self) -> None:
        """Connect once to learn at once why the server refuses (if it does), then fill the pool."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                probe = await AsyncConnection.connect(
                    self.url, connect_timeout=CONNECT_TIMEOUT, application_name="levpref"
                )
        except (psycopg.Error, TimeoutError) as exc:
            reason = " ".join(str(exc).split()) or f"no answer within {CONNECT_TIMEOUT} s"
            raise StoreUnavailable(f"cannot connect to PostgreSQL at {server_of(self.url)}: {reason}") from None
        await probe.close()
        try:
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout:
            await self._pool.close()
            raise StoreUnavailable(
                f"PostgreSQL at {server_of(self.url)} did not open levpref's connections within {CONNECT_TIMEOUT} s"
            ) from None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTx]:
        """One use case's transaction. ``BEGIN`` is queued and travels with the first read; the pending writes and
        ``COMMIT`` are sent with the pipeline's closing Sync, and that one wait returns when the commit is durable.
        A failure anywhere (the body, a statement, the commit) ends the transaction with a ``ROLLBACK``."""
        async with self._pool.connection() as conn:
            try:
                async with conn.pipeline() as pipeline:
                    _COUNT[0] += 2  # BEGIN and COMMIT
                    _COUNT[1] += 1  # the wait for the pending writes and the COMMIT
                    await conn.execute(_BEGIN)
                    yield SqlTx(_PgDriver(conn, pipeline), self._sums)
                    await conn.execute("COMMIT")
            except BaseException:
                await _end_failed(conn)
                raise

    async def migrate(self) -> int:
        """Apply pending migrations in one transaction; returns the schema version."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            cur = await conn.execute("SELECT MAX(version) FROM schema_version")
            row = await cur.fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            for version, sql in MIGRATIONS:
                if version > current:
                    for stmt in statements(sql.replace("{autoid}", _AUTOID)):
                        await conn.execute(stmt.encode())
                    await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
                    current = version
            return current

    async def close(self) -> None:
        await self._pool.close()


async def _end_failed(conn: AsyncConnection[Any]) -> None:
    """Roll back whatever a failed transaction left open (an open or aborted block); a connection that cannot is
    closed, so the pool replaces it rather than lend it out mid-transaction."""
    if conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        return
    try:
        await conn.execute("ROLLBACK")
    except psycopg.Error:
        await conn.close()
