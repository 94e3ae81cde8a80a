"""The PostgreSQL store: a psycopg 3 async connection pool; row locks serialise writers per key and account.

Rules:
- Each transaction is ``READ COMMITTED`` with ``SELECT … FOR UPDATE`` on the API key row and the account row
  (always in that order), so changes of one account are serial across every process and node.
- Nonces have a primary key ``(public_key, nonce)``: even a bug in locking cannot accept a nonce twice.
- Migrations run under an advisory lock, so several nodes can start at once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from levpref.adapters.storage.schema import MIGRATIONS, statements
from levpref.adapters.storage.sql import Params, Row, SqlTx

_MIGRATION_LOCK = 7_402_1117


@lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    return re.sub(r"\?", "%s", sql)


class _PgDriver:
    for_update = "FOR UPDATE"

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        cur = await self._conn.execute(_pg(sql), params, prepare=True)
        return await cur.fetchall()

    async def execute(self, sql: str, params: Params = ()) -> int:
        cur = await self._conn.execute(_pg(sql), params, prepare=True)
        return cur.rowcount


class PostgresStore:
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(url, min_size=min_size, max_size=max_size, open=False)

    async def open(self) -> None:
        await self._pool.open(wait=True, timeout=30)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTx]:
        async with self._pool.connection() as conn, conn.transaction():
            yield SqlTx(_PgDriver(conn))

    async def migrate(self) -> int:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            cur = await conn.execute("SELECT MAX(version) FROM schema_version")
            row = await cur.fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            for version, sql in MIGRATIONS:
                if version > current:
                    for stmt in statements(sql.replace("{autoid}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")):
                        await conn.execute(stmt.encode())
                    await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
                    current = version
            return current

    async def close(self) -> None:
        await self._pool.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": "postgresql"}
