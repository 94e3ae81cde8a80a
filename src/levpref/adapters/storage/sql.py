"""The store's queries, written once for SQLite and PostgreSQL.

Rules:
- Every use case runs in one transaction (``Store.transaction``); what it writes commits together or not at all.
- Writers serialise per account and per key: PostgreSQL locks the key row and the account row
  (``FOR UPDATE``, always in that order); SQLite takes the database write lock at ``BEGIN IMMEDIATE``.
- Decimals go in and out as text; the translation to domain values happens here and nowhere else.
- Lists keyed by text (symbols, currencies, ids) are sorted here in code-point order (SQLite's ``BINARY``), never
  with ``ORDER BY`` on text: PostgreSQL would sort by the database's collation (``en_US`` ignores ``_``), and both
  stores must answer alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

import msgspec

from levpref.adapters import jsonwire
from levpref.adapters.kraken_instruments import instrument_from_wire
from levpref.adapters.storage.account_sums import MIN_POSITIONS, UNKNOWN, AccountSums, Version, new_token
from levpref.domain.margin import CollateralBalance, MarginAccount, Position, PositionSums
from levpref.domain.preferences import CROSS, Cross, margin_mode
from levpref.ratelimit import Bucket
from levpref.service.records import (
    AccountState,
    ApiKeyRecord,
    AuditRecord,
    CurrencyRecord,
    InstrumentRecord,
    NonceState,
    PositionRecord,
    PreferenceRecord,
)

Row = tuple[Any, ...]
Params = Sequence[Any]


# What a request costs the database, counted in the drivers of this process (bench/roundtrips.py reads them from
# /metrics): [statements sent, round trips to the database]. On SQLite a statement is a call into the library; on
# PostgreSQL a round trip is a wait for the server (pipeline mode sends several statements in one), and
# tests/e2e/test_round_trips.py checks that count against the turns a proxy sees on the wire. Plain integers: a
# process serves one event loop, and a lock per statement cost more than the statement's bookkeeping.
COUNTS: dict[str, list[int]] = {"sqlite": [0, 0], "postgresql": [0, 0]}


class Driver(Protocol):
    """A connection inside a transaction, with ``?`` placeholders."""

    for_update: str

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def execute(self, sql: str, params: Params = ()) -> int: ...

    async def defer(self, sql: str, params: Params = ()) -> None:
        """A write whose result is not read: it may travel with the next statement that is waited for."""
        ...

    async def fetch_together(self, *statements: tuple[str, Params]) -> list[list[Row]]:
        """Reads run one after the other (each as of its own start), sent together when the driver can: one round
        trip."""
        ...


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


_AUDIT_JSON = msgspec.json.Encoder(order="sorted")
_PARSED: dict[tuple[str, int], InstrumentRecord] = {}  # (symbol, revision) → parsed instrument, per process


def _by_key(rows: list[Row]) -> list[Row]:
    """Rows sorted by their first column (a text key) in code-point order, whatever the database's collation."""
    return sorted(rows, key=lambda row: str(row[0]))


class SqlTx:
    """The operations of one transaction. ``sums``: the store's kept sums of large accounts (``account_sums.py``)."""

    def __init__(self, driver: Driver, sums: AccountSums | None = None) -> None:
        self._db = driver
        self._sums = sums if sums is not None else AccountSums(capacity=0)
        self._read: dict[str, tuple[Version, PositionSums, MarginAccount]] = {}  # kept accounts this tx read
        self._small: set[str] = set()  # accounts this transaction read whole, with fewer than MIN_POSITIONS
        self._prefetched: dict[str, list[PreferenceRecord]] = {}  # account → preferences read with its key

    async def _one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._db.fetchall(sql, params)
        return rows[0] if rows else None

    # --- meta -----------------------------------------------------------------------------------------
    async def meta(self, name: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    async def set_meta(self, name: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # --- keys, nonces, buckets -------------------------------------------------------------------------
    _KEY_COLUMNS = (
        "k.public_key, k.account_id, k.secret_enc, k.access, k.rate_budget, k.revoked, k.expires_ms, "
        "k.bucket_level, k.bucket_updated_ms, k.nonce_count, a.active, k.nonce_floor"
    )

    @staticmethod
    def _key(row: Row) -> ApiKeyRecord:
        return ApiKeyRecord(
            public_key=row[0],
            account_id=row[1],
            secret_enc=row[2],
            access=row[3],
            rate_budget=int(row[4]),
            revoked=bool(row[5]),
            expires_ms=None if row[6] is None else int(row[6]),
            bucket=Bucket(int(row[7]), int(row[8])),
            nonce_count=int(row[9]),
            account_active=bool(row[10]),
            nonce_floor=None if row[11] is None else str(row[11]),
        )

    async def lock_key(self, public_key: str) -> ApiKeyRecord | None:
        """The key and its account's state, locked for the rest of the transaction."""
        lock = self._db.for_update and f"{self._db.for_update} OF k"
        row = await self._one(
            f"SELECT {self._KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id "
            f"WHERE k.public_key = ? {lock}",
            (public_key,),
        )
        return None if row is None else self._key(row)

    async def keys_of(self, account_id: str) -> list[ApiKeyRecord]:
        rows = await self._db.fetchall(
            f"SELECT {self._KEY_COLUMNS} FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.account_id = ?",
            (account_id,),
        )
        return [self._key(r) for r in _by_key(rows)]

    async def insert_key(self, key: ApiKeyRecord) -> None:
        await self._db.execute(
            "INSERT INTO api_keys (public_key, account_id, secret_enc, access, rate_budget, revoked, expires_ms, "
            "bucket_level, bucket_updated_ms, nonce_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.public_key,
                key.account_id,
                key.secret_enc,
                key.access,
                key.rate_budget,
                int(key.revoked),
                key.expires_ms,
                key.bucket.level,
                key.bucket.updated_ms,
                key.nonce_count,
            ),
        )

    async def update_key(self, key: ApiKeyRecord) -> None:
        await self._db.execute(
            "UPDATE api_keys SET secret_enc = ?, access = ?, rate_budget = ?, revoked = ?, expires_ms = ? "
            "WHERE public_key = ?",
            (key.secret_enc, key.access, key.rate_budget, int(key.revoked), key.expires_ms, key.public_key),
        )

    async def set_key_secret(self, public_key: str, secret_enc: str) -> None:
        await self._db.execute("UPDATE api_keys SET secret_enc = ? WHERE public_key = ?", (secret_enc, public_key))

    async def all_key_secrets(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in await self._db.fetchall("SELECT public_key, secret_enc FROM api_keys")]

    async def save_key_use(
        self, public_key: str, *, bucket: Bucket | None, nonce: str | None, evict: str | None
    ) -> None:
        """At most two statements: the nonce kept (an evicted one is *replaced*, one row updated in place), and one
        update of the key's row (bucket, window count, floor)."""
        sets: list[str] = []
        params: list[Any] = []
        if bucket is not None:
            sets.append("bucket_level = ?, bucket_updated_ms = ?")
            params += (bucket.level, bucket.updated_ms)
        if nonce is not None and evict is not None:
            await self._db.defer(
                "UPDATE nonces SET nonce = ? WHERE public_key = ? AND nonce = ?", (nonce, public_key, evict)
            )
            sets.append("nonce_floor = CASE WHEN nonce_floor IS NULL OR nonce_floor < ? THEN ? ELSE nonce_floor END")
            params += (evict, evict)
        elif nonce is not None:
            await self._db.defer("INSERT INTO nonces (public_key, nonce) VALUES (?, ?)", (public_key, nonce))
            sets.append("nonce_count = nonce_count + 1")
        if sets:
            await self._db.defer(f"UPDATE api_keys SET {', '.join(sets)} WHERE public_key = ?", (*params, public_key))

    async def nonces(self, public_key: str) -> list[str]:
        rows = await self._db.fetchall("SELECT nonce FROM nonces WHERE public_key = ? ORDER BY nonce", (public_key,))
        return [str(r[0]) for r in rows]

    async def failure_buckets(self, names: list[str]) -> dict[str, Bucket]:
        """The failed-authentication buckets among ``names`` that exist, in one query."""
        marks = ", ".join("?" for _ in names)
        rows = await self._db.fetchall(f"SELECT ip, level, updated_ms FROM ip_failures WHERE ip IN ({marks})", names)
        return {str(r[0]): Bucket(int(r[1]), int(r[2])) for r in rows}

    async def lock_ip_buckets(self, names: list[str], fresh: Bucket) -> dict[str, Bucket]:
        """The failed-authentication buckets ``names`` (each created as ``fresh`` when new), locked in the order
        given for the rest of the transaction, so that concurrent failures in several processes each charge them
        (no lost update). One statement, one round trip: a row cannot vanish between creating it and reading it
        (a scenario load may delete it)."""
        wanted = list(dict.fromkeys(names))  # one row at most once: ON CONFLICT DO UPDATE may touch a row once
        rows = await self._db.fetchall(
            f"INSERT INTO ip_failures (ip, level, updated_ms) VALUES {', '.join('(?, ?, ?)' for _ in wanted)} "
            "ON CONFLICT (ip) DO UPDATE SET level = ip_failures.level RETURNING ip, level, updated_ms",
            [value for name in wanted for value in (name, fresh.level, fresh.updated_ms)],
        )
        return {str(r[0]): Bucket(int(r[1]), int(r[2])) for r in rows}

    async def save_ip_bucket(self, ip: str, bucket: Bucket) -> None:
        await self._db.defer(
            "INSERT INTO ip_failures (ip, level, updated_ms) VALUES (?, ?, ?) ON CONFLICT (ip) DO UPDATE "
            "SET level = excluded.level, updated_ms = excluded.updated_ms",
            (ip, bucket.level, bucket.updated_ms),
        )

    async def expire_ip_buckets(self, idle_since_ms: int) -> None:
        """Drop failed-authentication buckets untouched since ``idle_since_ms`` (refilled: the same as absent).
        At most 256 a call, and never a row another transaction holds (no waiting, no deadlock)."""
        skip = self._db.for_update and f"{self._db.for_update} SKIP LOCKED"
        await self._db.defer(
            f"DELETE FROM ip_failures WHERE ip IN (SELECT ip FROM ip_failures WHERE updated_ms < ? LIMIT 256 {skip})",
            (idle_since_ms,),
        )

    # --- instruments, currencies, marks ----------------------------------------------------------------
    async def instrument(self, symbol: str) -> InstrumentRecord | None:
        row = await self._one("SELECT revision FROM instruments WHERE symbol = ?", (symbol,))
        return None if row is None else await self._instrument_at(symbol, int(row[0]))

    async def _instrument_at(self, symbol: str, revision: int) -> InstrumentRecord | None:
        """The parsed instrument at ``revision``, from this process's cache or read once."""
        cached = _PARSED.get((symbol, revision))
        if cached is not None:
            return cached
        row = await self._one("SELECT raw, revision FROM instruments WHERE symbol = ?", (symbol,))
        if row is None:
            return None
        record = _instrument_record(row[0])
        if len(_PARSED) > 20_000:
            _PARSED.clear()
        _PARSED[(symbol, int(row[1]))] = record
        return record

    async def instruments(self) -> list[InstrumentRecord]:
        rows = await self._db.fetchall("SELECT symbol, raw FROM instruments")
        return [_instrument_record(r[1]) for r in _by_key(rows)]

    async def upsert_instrument(self, symbol: str, raw: dict[str, Any]) -> None:
        await self._new_world_revision()
        counter = await self._db.fetchall(
            "INSERT INTO meta (name, value) VALUES ('instrument_revision', '1') ON CONFLICT (name) "
            "DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT) RETURNING value"
        )
        await self._db.execute(
            "INSERT INTO instruments (symbol, raw, revision) VALUES (?, ?, ?) ON CONFLICT (symbol) "
            "DO UPDATE SET raw = excluded.raw, revision = excluded.revision",
            (symbol, jsonwire.dumps(raw).decode(), int(counter[0][0])),
        )

    async def currency(self, currency: str) -> CurrencyRecord | None:
        row = await self._one(
            "SELECT currency, price, haircut FROM collateral_currencies WHERE currency = ?", (currency,)
        )
        return None if row is None else CurrencyRecord(row[0], Decimal(row[1]), Decimal(row[2]))

    async def currencies(self) -> list[CurrencyRecord]:
        rows = await self._db.fetchall("SELECT currency, price, haircut FROM collateral_currencies")
        return [CurrencyRecord(r[0], Decimal(r[1]), Decimal(r[2])) for r in _by_key(rows)]

    async def upsert_currency(self, c: CurrencyRecord) -> None:
        await self._db.execute(
            "INSERT INTO collateral_currencies (currency, price, haircut) VALUES (?, ?, ?) ON CONFLICT (currency) "
            "DO UPDATE SET price = excluded.price, haircut = excluded.haircut",
            (c.currency, str(c.price), str(c.haircut)),
        )

    async def marks(self) -> dict[str, Decimal]:
        return {r[0]: Decimal(r[1]) for r in _by_key(await self._db.fetchall("SELECT symbol, price FROM marks"))}

    async def mark(self, symbol: str) -> Decimal | None:
        row = await self._one("SELECT price FROM marks WHERE symbol = ?", (symbol,))
        return None if row is None else Decimal(row[0])

    async def upsert_mark(self, symbol: str, price: Decimal) -> None:
        await self._new_world_revision()
        await self._db.execute(
            "INSERT INTO marks (symbol, price) VALUES (?, ?) ON CONFLICT (symbol) DO UPDATE SET price = excluded.price",
            (symbol, str(price)),
        )

    # --- accounts --------------------------------------------------------------------------------------
    async def lock_account(self, account_id: str) -> bool | None:
        """The account's ``active`` flag (``None`` if unknown), locked for the rest of the transaction."""
        row = await self._one(f"SELECT active FROM accounts WHERE id = ? {self._db.for_update}", (account_id,))
        return None if row is None else bool(row[0])

    async def account_ids(self) -> list[str]:
        return [r[0] for r in _by_key(await self._db.fetchall("SELECT id FROM accounts"))]

    async def accounts_page(self, after: str, limit: int) -> list[tuple[str, bool]]:
        """Accounts (id, active) in id order after ``after``; the primary key's index serves it."""
        rows = await self._db.fetchall(
            "SELECT id, active FROM accounts WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        )
        return [(str(r[0]), bool(r[1])) for r in rows]

    async def insert_account(self, account_id: str, *, active: bool) -> None:
        await self._db.execute("INSERT INTO accounts (id, active) VALUES (?, ?)", (account_id, int(active)))

    async def set_account_active(self, account_id: str, *, active: bool) -> None:
        await self._db.execute("UPDATE accounts SET active = ? WHERE id = ?", (int(active), account_id))

    async def balances(self, account_id: str) -> dict[str, Decimal]:
        rows = await self._db.fetchall("SELECT currency, quantity FROM balances WHERE account_id = ?", (account_id,))
        return {r[0]: Decimal(r[1]) for r in _by_key(rows)}

    async def set_balance(self, account_id: str, currency: str, quantity: Decimal) -> None:
        await self._db.execute(
            "INSERT INTO balances (account_id, currency, quantity) VALUES (?, ?, ?) ON CONFLICT (account_id, currency) "
            "DO UPDATE SET quantity = excluded.quantity",
            (account_id, currency, str(quantity)),
        )

    async def positions(self, account_id: str) -> list[PositionRecord]:
        rows = await self._db.fetchall(
            "SELECT symbol, size, entry_price, fill_time, allocated_margin FROM positions WHERE account_id = ?",
            (account_id,),
        )
        return [PositionRecord(r[0], Decimal(r[1]), Decimal(r[2]), r[3], _dec(r[4])) for r in _by_key(rows)]

    _POSITION_ROWS = (
        "SELECT 'p', p.symbol, p.size, p.entry_price, p.fill_time, p.allocated_margin, CAST(i.revision AS TEXT), "
        "m.price FROM positions p LEFT JOIN instruments i ON i.symbol = p.symbol "
        "LEFT JOIN marks m ON m.symbol = p.symbol "
    )
    _ACCOUNT_STATE = (
        "SELECT 'v', CAST(state_version AS TEXT), (SELECT value FROM meta WHERE name = 'world_revision'), NULL, NULL, "
        "NULL, NULL, NULL FROM accounts WHERE id = ? "
        "UNION ALL SELECT 'i', symbol, CAST(revision AS TEXT), NULL, NULL, NULL, NULL, NULL FROM instruments "
        "WHERE symbol = ? "
        "UNION ALL SELECT 'c', b.currency, b.quantity, c.price, c.haircut, NULL, NULL, NULL FROM balances b "
        "JOIN collateral_currencies c ON c.currency = b.currency WHERE b.account_id = ? "
        f"UNION ALL {_POSITION_ROWS} WHERE p.account_id = ? AND p.symbol = ? "
        # the other positions, only when the version the caller holds is stale (the subquery is then the account's
        # id, else NULL, which no row matches: an index lookup either way, never a filter over every row)
        f"UNION ALL {_POSITION_ROWS} WHERE p.account_id = (SELECT a.id FROM accounts a WHERE a.id = ? AND NOT ("
        "a.state_version = ? AND (SELECT value FROM meta WHERE name = 'world_revision') = ?)) AND p.symbol <> ? "
        "UNION ALL SELECT 'f', symbol, max_leverage, pnl_currency, NULL, NULL, NULL, NULL FROM preferences "
        "WHERE account_id = ? AND (symbol = ? OR ? = 1)"
    )

    async def account_state(self, account_id: str, symbol: str = "", *, complete: bool = False) -> AccountState:
        """Everything a decision on ``symbol`` reads, in one statement whatever the account's size: the instrument
        ``symbol`` (if any), the collateral at its prices, the positions at market, and the preferences.

        Unless ``complete``: when this store keeps the sums of the account at its current version, only the
        position in ``symbol`` is read (the others are given by their sums), and only the preference of ``symbol``.
        """
        kept = None if complete else self._sums.get(account_id)
        known = UNKNOWN if kept is None else kept.version
        params = (account_id, symbol, account_id, account_id, symbol, account_id, *known, symbol, account_id, symbol)
        rows = await self._db.fetchall(self._ACCOUNT_STATE, (*params, int(complete)))
        version, instrument = UNKNOWN, None
        collateral: list[CollateralBalance] = []
        positions: list[Position] = []
        preferences: dict[str, PreferenceRecord] = {}
        for kind, *r in sorted(rows, key=lambda row: (row[0], str(row[1]))):
            if kind == "p":
                position = await self._position(r)
                if position is not None:
                    positions.append(position)
            elif kind == "c":
                collateral.append(CollateralBalance(r[0], Decimal(r[1]), Decimal(r[2]), Decimal(r[3])))
            elif kind == "f":
                preferences[r[0]] = PreferenceRecord(r[0], margin_mode(_dec(r[1])), r[2])
            elif kind == "i":
                instrument = _PARSED.get((r[0], int(r[1]))) or await self._instrument_at(r[0], int(r[1]))
            else:
                version = (int(r[0]), str(r[1]))
        if kept is not None and version == known:
            margin = MarginAccount.of(collateral, positions, kept.total.minus(PositionSums.of(positions)))
            self._read[account_id] = (version, kept.total, margin)
        else:  # every position was read
            margin = MarginAccount.of(collateral, positions)
            if len(positions) < MIN_POSITIONS:
                self._small.add(account_id)  # nobody keeps sums of this version: a change need not replace it
            elif version != UNKNOWN:
                total = margin.sums()
                self._sums.keep(account_id, version, total)
                self._read[account_id] = (version, total, margin)
        return AccountState(instrument, margin, preferences)

    async def _position(self, r: list[Any]) -> Position | None:
        """A position row at market (``symbol, size, entry, fill time, allocated, instrument revision, mark``);
        ``None`` for one in a contract without a margin schedule (never admitted: checked when set)."""
        record = None if r[5] is None else _PARSED.get((r[0], int(r[5]))) or await self._instrument_at(r[0], int(r[5]))
        if record is None or record.instrument.schedule is None:
            return None
        entry = Decimal(r[2])
        mark = entry if r[6] is None else Decimal(r[6])
        allocated = _dec(r[4])
        return Position(
            r[0], Decimal(r[1]), entry, mark, record.instrument.contract_size, record.instrument.schedule, allocated
        )

    async def serialize_account(self, account_id: str) -> None:
        """Hold the account's row lock for the rest of the transaction (changes of one account never interleave).
        SQLite runs one transaction at a time already: nothing to send."""
        if self._db.for_update:
            await self._db.defer(f"SELECT 1 FROM accounts WHERE id = ? {self._db.for_update}", (account_id,))

    _WINDOW = (
        "(SELECT 1 FROM nonces n WHERE n.public_key = ? AND n.nonce = ?), "
        "(SELECT MIN(n.nonce) FROM nonces n WHERE n.public_key = ?)"
    )

    _KEY_PREFERENCES = (
        "SELECT symbol, max_leverage, pnl_currency FROM preferences "
        "WHERE account_id = (SELECT account_id FROM api_keys WHERE public_key = ?)"
    )

    async def lock_key_with_buckets(
        self, public_key: str, buckets: list[str], nonce: str | None = None, *, preferences: bool = False
    ) -> tuple[ApiKeyRecord | None, dict[str, Bucket], NonceState | None]:
        """The key (locked, as ``lock_key``; ``None`` if there is none), the failed-auth buckets ``buckets`` and,
        for ``nonce``, whether the key's window holds it and the window's smallest. One statement on SQLite (its
        transactions are serial); on PostgreSQL the window is a second statement in the same round trip, because a
        statement reads as of its start, before it waited for the key's lock, and the lock holder may have just
        kept that very nonce. The statement answers one row whether the key exists or not (the key is a derived
        table outer-joined to one row), so an unknown key costs the database what a known one does: the time of a
        refusal does not tell whether a public key exists (SPEC §2.4).

        ``preferences``: also read the preferences of the key's account, after the lock and in the same round trip,
        for ``preferences()`` to answer from (an endpoint that reads nothing else then waits once, before its
        COMMIT). Read for an unknown key too (no row), so that the work does not tell either."""
        lock = self._db.for_update and f"{self._db.for_update} OF k"
        levels = "".join(
            ", (SELECT level FROM ip_failures WHERE ip = ?), (SELECT updated_ms FROM ip_failures WHERE ip = ?)"
            for _ in buckets
        )
        params: list[Any] = [name for name in buckets for _ in range(2)]
        inline = nonce is not None and not lock
        if inline:
            levels += f", {self._WINDOW}"
            params += (public_key, nonce, public_key)
        statement = (
            f"SELECT kk.*{levels} FROM (SELECT 1) AS one LEFT JOIN (SELECT {self._KEY_COLUMNS} FROM api_keys k "
            f"JOIN accounts a ON a.id = k.account_id WHERE k.public_key = ? {lock}) AS kk ON TRUE",
            (*params, public_key),
        )
        window_apart = nonce is not None and not inline
        statements = [statement]
        if window_apart:
            statements.append((f"SELECT {self._WINDOW}", (public_key, nonce, public_key)))
        if preferences:
            statements.append((self._KEY_PREFERENCES, (public_key,)))
        answers = await self._db.fetch_together(*statements)  # one round trip, one statement or three
        row = (*answers[0][0], *answers[1][0]) if window_apart else answers[0][0]
        if preferences and row[0] is not None:  # read by the key's account: the row just locked names it
            self._prefetched[str(row[1])] = self._preference_list(answers[-1])
        found = {
            name: Bucket(int(row[12 + 2 * i]), int(row[13 + 2 * i]))
            for i, name in enumerate(buckets)
            if row[12 + 2 * i] is not None
        }
        state = None
        if nonce is not None:
            known, smallest = row[12 + 2 * len(buckets) :]
            state = NonceState(known is not None, None if smallest is None else str(smallest))
        return (None if row[0] is None else self._key(row[:12])), found, state

    async def _new_version(self, account_id: str) -> int:
        """Replace the account's state version (its positions changed): kept sums of it no longer match."""
        token = new_token()
        await self._db.defer("UPDATE accounts SET state_version = ? WHERE id = ?", (token, account_id))
        self._read.pop(account_id, None)
        self._small.discard(account_id)
        return token

    async def _new_world_revision(self) -> None:
        """Replace the world revision (marks, instruments or the world changed): no kept sums match any more."""
        await self._db.defer("UPDATE meta SET value = ? WHERE name = 'world_revision'", (str(new_token()),))
        self._read.clear()
        self._small.clear()

    async def set_position(self, account_id: str, p: PositionRecord) -> None:
        await self._new_version(account_id)
        await self._db.execute(
            "INSERT INTO positions (account_id, symbol, size, entry_price, fill_time, allocated_margin) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, symbol) DO UPDATE SET size = excluded.size, "
            "entry_price = excluded.entry_price, fill_time = excluded.fill_time, "
            "allocated_margin = excluded.allocated_margin",
            (account_id, p.symbol, str(p.size), str(p.entry_price), p.fill_time, _text(p.allocated_margin)),
        )

    async def set_allocation(self, account_id: str, symbol: str, allocated: Decimal | None) -> None:
        """Move one position to the pool of ``allocated`` (``None``: cross). If this transaction read the account
        and its sums are kept, the sums of the new version are kept at once (before − as it was + as it is). An
        account this transaction read whole with fewer than ``MIN_POSITIONS`` keeps its version: no process keeps
        sums of it at that version (it has too few positions), so none can be misled."""
        read = self._read.get(account_id)
        await self._db.defer(
            "UPDATE positions SET allocated_margin = ? WHERE account_id = ? AND symbol = ?",
            (_text(allocated), account_id, symbol),
        )
        if account_id in self._small:
            return
        token = await self._new_version(account_id)
        if read is None or self._sums.get(account_id) is None:
            return
        version, total, margin = read
        before = margin.position(symbol)
        if before is None:
            self._sums.forget(account_id)
            return
        after = replace(before, allocated_margin=allocated)
        self._sums.keep(
            account_id, (token, version[1]), total.minus(PositionSums.of([before])).plus(PositionSums.of([after]))
        )

    async def delete_position(self, account_id: str, symbol: str) -> int:
        await self._new_version(account_id)
        return await self._db.execute("DELETE FROM positions WHERE account_id = ? AND symbol = ?", (account_id, symbol))

    async def preferences(self, account_id: str) -> list[PreferenceRecord]:
        """The account's preferences in symbol order; answered from what ``lock_key_with_buckets`` read ahead when
        it did (no preference was written since: a write forgets it)."""
        known = self._prefetched.get(account_id)
        if known is not None:
            return known
        rows = await self._db.fetchall(
            "SELECT symbol, max_leverage, pnl_currency FROM preferences WHERE account_id = ?",
            (account_id,),
        )
        return self._preference_list(rows)

    @staticmethod
    def _preference_list(rows: list[Row]) -> list[PreferenceRecord]:
        return [PreferenceRecord(r[0], margin_mode(_dec(r[1])), r[2]) for r in _by_key(rows)]

    async def preference(self, account_id: str, symbol: str) -> PreferenceRecord:
        row = await self._one(
            "SELECT symbol, max_leverage, pnl_currency FROM preferences WHERE account_id = ? AND symbol = ?",
            (account_id, symbol),
        )
        if row is None:
            return PreferenceRecord(symbol, CROSS, None)
        return PreferenceRecord(row[0], margin_mode(_dec(row[1])), row[2])

    async def set_preference(self, account_id: str, pref: PreferenceRecord) -> None:
        self._prefetched.clear()
        if isinstance(pref.mode, Cross) and pref.pnl_currency is None:
            await self._db.defer(
                "DELETE FROM preferences WHERE account_id = ? AND symbol = ?", (account_id, pref.symbol)
            )
            return
        await self._db.defer(
            "INSERT INTO preferences (account_id, symbol, max_leverage, pnl_currency) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account_id, symbol) DO UPDATE SET max_leverage = excluded.max_leverage, "
            "pnl_currency = excluded.pnl_currency",
            (account_id, pref.symbol, _text(pref.mode.max_leverage), pref.pnl_currency),
        )

    # --- audit -----------------------------------------------------------------------------------------
    async def add_audit(self, a: AuditRecord) -> None:
        await self._db.defer(
            "INSERT INTO audit (account_id, at, actor, action, symbol, before, after, margin_moved, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a.account_id,
                a.at,
                a.actor,
                a.action,
                a.symbol,
                _AUDIT_JSON.encode(a.before).decode(),
                _AUDIT_JSON.encode(a.after).decode(),
                _text(a.margin_moved),
                a.request_id,
            ),
        )

    async def count(self, table: str) -> int:
        assert table in {"audit", "nonces", "preferences", "positions", "accounts", "api_keys"}
        row = await self._one(f"SELECT COUNT(*) FROM {table}")
        return 0 if row is None else int(row[0])

    # --- whole world -----------------------------------------------------------------------------------
    async def _lock_world(self) -> None:
        """Lock every key row, then every account row, then every failed-auth bucket, each in key order: the order
        requests take them (key, account; ``ip:`` before ``ipkey:``), so a reload during traffic waits for the
        requests in flight instead of deadlocking with them."""
        if self._db.for_update:
            await self._db.fetchall(f"SELECT public_key FROM api_keys ORDER BY public_key {self._db.for_update}")
            await self._db.fetchall(f"SELECT id FROM accounts ORDER BY id {self._db.for_update}")
            await self._db.fetchall(f"SELECT ip FROM ip_failures ORDER BY ip {self._db.for_update}")

    async def replace_world(self, accounts: list[tuple[str, bool]], keys: list[ApiKeyRecord], keep: set[str]) -> None:
        """Make ``accounts`` and ``keys`` the only ones, updating rows that stay in place (a request waiting on a
        key's row lock then reads the new row; a deleted and re-inserted row would read as missing), and delete
        every other operator-controlled row. ``keep``: the keys whose nonce window (kept nonces, count and floor)
        survives; every other key starts with an empty window."""
        await self._lock_world()
        await self._new_world_revision()
        self._prefetched.clear()
        for table in _WORLD_TABLES:
            if table not in ("nonces", "api_keys", "accounts"):
                await self._db.execute(f"DELETE FROM {table}")
        for (public,) in await self._db.fetchall("SELECT DISTINCT public_key FROM nonces"):
            if public not in keep:
                await self._db.execute("DELETE FROM nonces WHERE public_key = ?", (public,))
        for account_id, active in accounts:
            await self._db.execute(
                "INSERT INTO accounts (id, active) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET active = excluded.active",
                (account_id, int(active)),
            )
        await self._replace_keys(keys, keep)
        wanted_accounts = {a for a, _ in accounts}
        for (account_id,) in await self._db.fetchall("SELECT id FROM accounts"):
            if account_id not in wanted_accounts:
                await self._db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))

    async def _replace_keys(self, keys: list[ApiKeyRecord], keep: set[str]) -> None:
        """Make ``keys`` the only keys: others deleted, new ones inserted, staying ones updated in place."""
        wanted = {k.public_key for k in keys}
        for (public,) in await self._db.fetchall("SELECT public_key FROM api_keys"):
            if public not in wanted:
                await self._db.execute("DELETE FROM api_keys WHERE public_key = ?", (public,))
        existing = {str(r[0]) for r in await self._db.fetchall("SELECT public_key FROM api_keys")}
        for key in keys:
            if key.public_key not in existing:
                await self.insert_key(key)
                continue
            window = "" if key.public_key in keep else ", nonce_count = 0, nonce_floor = NULL"
            await self._db.execute(
                "UPDATE api_keys SET account_id = ?, secret_enc = ?, access = ?, rate_budget = ?, revoked = ?, "
                f"expires_ms = ?, bucket_level = ?, bucket_updated_ms = ?{window} WHERE public_key = ?",
                (
                    key.account_id, key.secret_enc, key.access, key.rate_budget, int(key.revoked), key.expires_ms,
                    key.bucket.level, key.bucket.updated_ms, key.public_key,
                ),
            )  # fmt: skip

    # --- audit pages (admin API, SPEC §4) ---------------------------------------------------------------
    async def audit_page(
        self,
        account_id: str | None,
        *,
        after_id: int = 0,
        before_id: int | None = None,
        limit: int = 100,
        newest_first: bool = True,
        symbol: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[AuditRecord]:
        """Entries with ``after_id < id < before_id`` matching every filter given, newest (highest id) first unless
        ``newest_first`` is false. ``since``/``until`` compare ``at`` (fixed-width ISO text, so text order is time
        order): ``since <= at < until``."""
        filters: list[tuple[str, Any]] = [("id > ?", after_id)]
        for clause, value in (
            ("id < ?", before_id),
            ("account_id = ?", account_id),
            ("symbol = ?", symbol),
            ("action = ?", action),
            ("at >= ?", since),
            ("at < ?", until),
        ):
            if value is not None:
                filters.append((clause, value))
        where = " AND ".join(clause for clause, _ in filters)
        rows = await self._db.fetchall(
            "SELECT id, account_id, at, actor, action, symbol, before, after, margin_moved, request_id FROM audit "
            f"WHERE {where} ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT ?",
            (*(value for _, value in filters), limit),
        )
        return [
            AuditRecord(r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7]), _dec(r[8]), r[9], int(r[0]))
            for r in rows
        ]


_WORLD_TABLES = (
    "nonces",
    "ip_failures",
    "preferences",
    "positions",
    "balances",
    "api_keys",
    "accounts",
    "marks",
    "collateral_currencies",
    "instruments",
)


@lru_cache(maxsize=8192)
def _instrument_record(raw_text: str) -> InstrumentRecord:
    """Parse a stored instrument once per distinct stored text (callers must not mutate ``raw``)."""
    raw = jsonwire.loads(raw_text)
    return InstrumentRecord(instrument_from_wire(raw), raw)
