"""The SQLite store: one file, WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE`` for every transaction.

Rules:
- Every transaction takes the write lock up front, so transactions of all processes on the file are serial;
  ``busy_timeout`` makes the others wait rather than fail.
- A commit in WAL mode with ``synchronous=NORMAL`` is in the WAL file before the response is sent, so it
  survives a killed process (not necessarily a power cut; use ``synchronous=FULL`` for that).
- Several processes may open one file, also a new one at the same moment (the switch to WAL is retried).
- Calls are synchronous inside ``async`` methods: a transaction never yields to the event loop, and a
  process-wide lock keeps concurrent requests of this process from interleaving on the connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from levpref.adapters.storage.schema import MIGRATIONS, statements
from levpref.adapters.storage.sql import Params, Row, SqlTx


class _SqliteDriver:
    for_update = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, params).rowcount


def _enable_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Switch the file to WAL. On a new file several processes may switch it at once: the switch then fails at once
    with "database is locked" (SQLite does not wait on it as it does on other locks), so try again until it holds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SqliteStore:
    def __init__(self, path: str, *, synchronous: str = "NORMAL") -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        _enable_wal(self._conn)
        self._conn.execute(f"PRAGMA synchronous = {synchronous}")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._lock = asyncio.Lock()
        self._driver = _SqliteDriver(self._conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTx]:
        async with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqlTx(self._driver)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    async def migrate(self) -> int:
        """Apply pending migrations; returns the schema version."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = int(row[0]) if row and row[0] is not None else 0
            for version, sql in MIGRATIONS:
                if version > current:
                    for stmt in statements(sql.replace("{autoid}", "INTEGER PRIMARY KEY AUTOINCREMENT")):
                        self._conn.execute(stmt)
                    self._conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                    current = version
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return current

    async def close(self) -> None:
        self._conn.close()

    def describe(self) -> dict[str, Any]:
        return {"kind": "sqlite", "path": self.path}
