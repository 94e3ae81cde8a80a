"""Versioned schema migrations, shared by SQLite and PostgreSQL.

Rules:
- Migrations are append-only: a released step is never edited; a change is a new step.
- Money and prices are stored as decimal text (never REAL/float); nonces as 20-digit zero-padded text, so they
  sort as numbers and fit 20 digits (more than a signed 64-bit integer holds).
- ``{autoid}`` is the dialect's auto-incrementing primary key.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE instruments (
            symbol TEXT PRIMARY KEY,
            raw TEXT NOT NULL
        );
        CREATE TABLE collateral_currencies (
            currency TEXT PRIMARY KEY,
            price TEXT NOT NULL,
            haircut TEXT NOT NULL
        );
        CREATE TABLE marks (symbol TEXT PRIMARY KEY, price TEXT NOT NULL);
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            active INTEGER NOT NULL
        );
        CREATE TABLE api_keys (
            public_key TEXT PRIMARY KEY,
            account_id TEXT NOT NULL REFERENCES accounts (id),
            secret_enc TEXT NOT NULL,
            access TEXT NOT NULL,
            rate_budget INTEGER NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0,
            expires_ms BIGINT,
            bucket_level BIGINT NOT NULL,
            bucket_updated_ms BIGINT NOT NULL,
            nonce_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX api_keys_account ON api_keys (account_id);
        CREATE TABLE nonces (
            public_key TEXT NOT NULL,
            nonce TEXT NOT NULL,
            PRIMARY KEY (public_key, nonce)
        );
        CREATE TABLE ip_failures (
            ip TEXT PRIMARY KEY,
            level BIGINT NOT NULL,
            updated_ms BIGINT NOT NULL
        );
        CREATE TABLE balances (
            account_id TEXT NOT NULL REFERENCES accounts (id),
            currency TEXT NOT NULL,
            quantity TEXT NOT NULL,
            PRIMARY KEY (account_id, currency)
        );
        CREATE TABLE positions (
            account_id TEXT NOT NULL REFERENCES accounts (id),
            symbol TEXT NOT NULL,
            size TEXT NOT NULL,
            entry_price TEXT NOT NULL,
            fill_time TEXT NOT NULL,
            allocated_margin TEXT,
            PRIMARY KEY (account_id, symbol)
        );
        CREATE TABLE preferences (
            account_id TEXT NOT NULL REFERENCES accounts (id),
            symbol TEXT NOT NULL,
            max_leverage TEXT,
            pnl_currency TEXT,
            PRIMARY KEY (account_id, symbol)
        );
        CREATE TABLE audit (
            id {autoid},
            account_id TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            symbol TEXT,
            before TEXT NOT NULL,
            after TEXT NOT NULL,
            margin_moved TEXT,
            request_id TEXT NOT NULL
        );
        CREATE INDEX audit_account ON audit (account_id, id);
        """,
    ),
    (
        2,
        # Every write of an instrument takes a new revision from a counter that is never reset, so a process can
        # cache parsed instruments by (symbol, revision) and read only that small number on the hot path.
        """
        ALTER TABLE instruments ADD COLUMN revision BIGINT NOT NULL DEFAULT 0
        """,
    ),
    (
        3,
        # The highest nonce evicted from a key's window (SPEC §2.2, revised: enlarging the window never re-admits
        # it), and an index to expire idle failed-authentication buckets.
        """
        ALTER TABLE api_keys ADD COLUMN nonce_floor TEXT;
        CREATE INDEX ip_failures_updated ON ip_failures (updated_ms)
        """,
    ),
    (
        4,
        # The versions of an account's positions and of the world's marks and instruments (account_sums.py): a
        # process keeps the sums of a large account's positions at a version and reads only what changed.
        """
        ALTER TABLE accounts ADD COLUMN state_version BIGINT NOT NULL DEFAULT 0;
        INSERT INTO meta (name, value) VALUES ('world_revision', '0')
        """,
    ),
)


def statements(sql: str) -> list[str]:
    """Split a migration into statements (migrations hold no ``;`` inside literals)."""
    return [s.strip() for s in sql.split(";") if s.strip()]
