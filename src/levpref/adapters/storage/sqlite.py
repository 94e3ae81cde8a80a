"""The SQLite store: one file, WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE`` for every transaction.

Rules:
- Every transaction takes the write lock up front, so transactions of all processes on the file are serial;
  ``busy_timeout`` makes the others wait rather than fail.
- WAL checkpoints run in a background thread (its own connection), never inside a request's commit.
- A commit in WAL mode with ``synchronous=NORMAL`` is in the WAL file before the response is sent, so it
  survives a killed process (not necessarily a power cut; use ``synchronous=FULL`` for that).
- Several processes may open one file, also a new one at the same moment (the switch to WAL is retried).
- Calls are synchronous inside ``async`` methods: a transaction never yields to the event loop, and a
  process-wide lock keeps concurrent requests of this process from interleaving on the connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from levpref.adapters.storage.account_sums import AccountSums
from levpref.adapters.storage.schema import MIGRATIONS, statements
from levpref.adapters.storage.sql import COUNTS, Params, Row, SqlTx

log = logging.getLogger("levpref.sqlite")


_COUNT = COUNTS["sqlite"]


def _counted(conn: sqlite3.Connection, sql: str, params: Params = ()) -> sqlite3.Cursor:
    _COUNT[0] += 1
    _COUNT[1] += 1
    return conn.execute(sql, params)


class _SqliteDriver:
    for_update = ""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return _counted(self._conn, sql, params).fetchall()

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _counted(self._conn, sql, params).rowcount

    async def defer(self, sql: str, params: Params = ()) -> None:
        _counted(self._conn, sql, params)

    async def fetch_together(self, *statements: tuple[str, Params]) -> list[list[Row]]:
        return [_counted(self._conn, *statement).fetchall() for statement in statements]


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


WAL_LIMIT = 16 * 1024 * 1024  # bytes the WAL file may keep after a checkpoint (SQLite's journal_size_limit)


WAL_IDLE_S = 1.0  # a WAL file nobody wrote for this long may be emptied: traffic has paused, not just slowed


class _Checkpointer:
    """A thread with its own connection that checkpoints the WAL every ``interval`` seconds (PASSIVE: it never
    blocks a writer). The serving connection has auto-checkpoints off, so no request waits for a checkpoint's
    fsyncs. Under load the log is reused from its start after each complete checkpoint, so the file keeps its
    high-water mark but does not grow; once it is caught up, larger than ``limit`` and idle (not written for
    ``WAL_IDLE_S``: by no process, as its mtime says), the thread empties it with a TRUNCATE checkpoint. A TRUNCATE
    under load cost the PUT p99 at half of peak 28 ms against 6 ms without (the truncation and its fsync hold the
    write lock, and the serving thread waits for it); it never waits for the lock itself (no busy timeout)."""

    def __init__(self, path: str, interval: float = 0.1, limit: int = WAL_LIMIT) -> None:
        self._path = path
        self._wal = Path(f"{path}-wal")
        self._limit = limit
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="levpref-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # No busy timeout: a TRUNCATE that cannot take the write lock at once gives up until the next round
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=0)
        try:
            conn.execute(f"PRAGMA journal_size_limit = {self._limit}")
            while not self._stopped.wait(self._interval):
                try:
                    _, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames == done and self._idle_and_over_limit():
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                except sqlite3.Error:
                    log.warning("WAL checkpoint failed; retrying", exc_info=True)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            log.warning("WAL checkpointer stopped", exc_info=True)
        finally:
            conn.close()

    def _idle_and_over_limit(self) -> bool:
        try:
            state = self._wal.stat()
        except OSError:
            return False
        return state.st_size > self._limit and time.time() - state.st_mtime >= WAL_IDLE_S

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)


class SqliteStore:
    def __init__(self, path: str, *, synchronous: str = "NORMAL", wal_limit: int = WAL_LIMIT) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        _enable_wal(self._conn)
        self._conn.execute(f"PRAGMA synchronous = {synchronous}")
        self._checkpointer: _Checkpointer | None = None
        if path != ":memory:":  # checkpoints (copying the WAL into the file, with fsyncs) off the request path
            self._conn.execute("PRAGMA wal_autocheckpoint = 0")
            self._conn.execute(f"PRAGMA journal_size_limit = {wal_limit}")
            self._checkpointer = _Checkpointer(path, limit=wal_limit)
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._lock = asyncio.Lock()
        self._driver = _SqliteDriver(self._conn)
        self._sums = AccountSums()  # the kept sums of large accounts of this file (account_sums.py)
        self._group: asyncio.Future[None] | None = None  # the open group's commit, awaited by all its members
        self._active = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTx]:
        """One use case's transaction, committed as part of a group (group commit).

        The first transaction of an event-loop turn opens the group (``BEGIN IMMEDIATE``) and schedules its
        ``COMMIT`` for the end of the turn; each transaction runs inside its own savepoint, so a failing one rolls
        back alone. A transaction returns only after its group's ``COMMIT``: nothing is acknowledged before it is
        durable, and a failed commit fails every member. Transactions never interleave: their bodies do not
        suspend on this store, and the lock guards the rest.
        """
        async with self._lock:
            if self._group is None:
                _counted(self._conn, "BEGIN IMMEDIATE")
                loop = asyncio.get_running_loop()
                self._group = loop.create_future()
                loop.call_soon(self._commit_group)
            group = self._group
            self._active = True
            _counted(self._conn, "SAVEPOINT use_case")
            try:
                yield SqlTx(self._driver, self._sums)
            except BaseException:
                _counted(self._conn, "ROLLBACK TO use_case")
                _counted(self._conn, "RELEASE use_case")
                raise
            else:
                _counted(self._conn, "RELEASE use_case")
            finally:
                self._active = False
        await group

    def _commit_group(self) -> None:
        group = self._group
        if group is None:
            return
        if self._active:  # a member is mid-body (it suspended): commit once it is done
            asyncio.get_running_loop().call_soon(self._commit_group)
            return
        self._group = None
        try:
            _counted(self._conn, "COMMIT")
        except Exception as exc:  # every member of the group fails; nothing of it was acknowledged
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            group.set_exception(exc)
            return
        group.set_result(None)

    async def migrate(self) -> int:
        """Apply pending migrations; returns the schema version."""
        _counted(self._conn, "BEGIN IMMEDIATE")
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
        _counted(self._conn, "COMMIT")
        return current

    async def close(self) -> None:
        self._commit_group()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._conn.close()
