"""The benchmark's worlds: N accounts × K positions, written straight into the database, and pre-signed requests.

Rules:
- The schema comes from the server itself (``levpref migrate``), and API secrets are sealed with the server's own
  ``SecretBox`` and the same master key file, so the server reads the world exactly as if an operator had loaded it.
- Everything is derived from the account index: account id, 56-character public key, 64-byte secret. Nothing
  random, so the pre-signer can re-derive any account's secret without reading the database back.
- Every account holds 10 000 000 USD (so every leverage the load asks for is affordable), a full-access key with a
  rate budget of 10^9 per 10 s, and K long positions of 1 contract at entry 1 000 = mark 1 000 (notional 1 000 USD)
  in ``PF_B0000USD`` … ``PF_B{K-1}USD``, all cross. A PUT of account ``a`` targets ``PF_B{a mod K}USD``.
- Requests are signed without a Nonce (SPEC §2.2: optional), so wrk can replay them.
- The load visits a sample of accounts in a scattered order (index ``j·7919 mod N``), never sequential ids.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from levpref.adapters import jsonwire
from levpref.adapters.kraken_instruments import canonical_instrument
from levpref.adapters.secretbox import SecretBox
from levpref.auth.authent import sign_b64
from levpref.bootstrap import make_secrets
from levpref.config import Config

ROOT = Path(__file__).resolve().parent.parent
LEVPREF = ROOT / ".venv" / "bin" / "levpref"
PATH = "/derivatives/api/v3/leveragepreferences"
RATE_BUDGET = 10**9
MICRO = 1_000_000
COLLATERAL_USD = "10000000"
MARK = "1000"
FILL_TIME = "2026-01-01T00:00:00.000Z"
STRIDE = 7919  # a prime: j·STRIDE mod N scatters the visited accounts over the whole key space
TIERS = [
    {"num_non_contract_units": "0", "initial_margin": "0.02", "maintenance_margin": "0.01"},
    {"num_non_contract_units": "500000", "initial_margin": "0.04", "maintenance_margin": "0.02"},
    {"num_non_contract_units": "2000000", "initial_margin": "0.10", "maintenance_margin": "0.05"},
]
# The leverage cycle of one account: "-" is cross (no maxLeverage). Neighbours differ, and so do values two apart,
# so every PUT changes the account's state even when a run skips a step of the cycle.
LEVERAGES = ("10", "-", "5", "20", "-", "2.5")


@dataclass(frozen=True, slots=True)
class WorldSpec:
    accounts: int
    positions: int

    @property
    def name(self) -> str:
        return f"N{self.accounts}-K{self.positions}"


def symbol(index: int) -> str:
    return f"PF_B{index:04d}USD"


def account_id(index: int) -> str:
    return f"acct{index:07d}"


def public_key(index: int) -> str:
    raw = hashlib.blake2b(f"public-{index}".encode(), digest_size=42).digest()
    return base64.b64encode(raw).decode("ascii").replace("+", "A").replace("/", "B")


def secret(index: int) -> bytes:
    return hashlib.blake2b(f"secret-{index}".encode(), digest_size=64).digest()


def visit_order(accounts: int, sample: int) -> list[int]:
    """The first ``sample`` accounts of the scattered visiting order (a permutation of ``range(accounts)``)."""
    stride = STRIDE if accounts % STRIDE else 1
    return [(j * stride) % accounts for j in range(min(sample, accounts))]


def instruments(count: int) -> list[dict[str, Any]]:
    return [
        canonical_instrument(
            {
                "symbol": symbol(i),
                "type": "flexible_futures",
                "contract_size": "1",
                "tradeable": True,
                "margin_levels": TIERS,
            }
        )
        for i in range(count)
    ]


def migrate(database_url: str, key_file: Path) -> None:
    """Create the schema (and the master key file) with the server's own ``levpref migrate``."""
    subprocess.run(
        [str(LEVPREF), "migrate", "--database-url", database_url, "--master-key-file", str(key_file)],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _box(database_url: str, key_file: Path) -> SecretBox:
    """The server's own secret box, from the same configuration the server is started with."""
    return make_secrets(Config(database_url=database_url, master_key_file=str(key_file)))


def _key_rows(spec: WorldSpec, box: SecretBox, now_ms: int) -> Iterator[tuple[Any, ...]]:
    for i in range(spec.accounts):
        public = public_key(i)
        yield (public, account_id(i), box.seal(public, secret(i)), "full", RATE_BUDGET, 0, None, RATE_BUDGET * MICRO)


def _position_rows(spec: WorldSpec) -> Iterator[tuple[str, str, str, str, str]]:
    symbols = [symbol(k) for k in range(spec.positions)]
    for i in range(spec.accounts):
        aid = account_id(i)
        for s in symbols:
            yield (aid, s, "1", MARK, FILL_TIME)


@dataclass(frozen=True, slots=True)
class BuildReport:
    seconds: float
    migrate_seconds: float
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 2), "migrate_seconds": round(self.migrate_seconds, 2), "rows": self.rows}


def _static_rows(spec: WorldSpec) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    insts = [(i["symbol"], jsonwire.dumps(i).decode()) for i in instruments(spec.positions)]
    marks = [(symbol(k), MARK) for k in range(spec.positions)]
    return insts, marks


def build_sqlite(spec: WorldSpec, db_path: Path, key_file: Path) -> BuildReport:
    """Migrate, then bulk-insert the world in one transaction (journal off while loading, WAL afterwards)."""
    started = time.perf_counter()
    migrate(f"sqlite:///{db_path}", key_file)
    migrated = time.perf_counter()
    box = _box(f"sqlite:///{db_path}", key_file)
    now_ms = time.time_ns() // 1_000_000
    insts, marks = _static_rows(spec)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO instruments (symbol, raw) VALUES (?, ?)", insts)
        conn.execute("INSERT INTO collateral_currencies (currency, price, haircut) VALUES ('USD', '1', '0')")
        conn.executemany("INSERT INTO marks (symbol, price) VALUES (?, ?)", marks)
        conn.executemany(
            "INSERT INTO accounts (id, active) VALUES (?, 1)", ((account_id(i),) for i in range(spec.accounts))
        )
        conn.executemany(
            "INSERT INTO balances (account_id, currency, quantity) VALUES (?, 'USD', ?)",
            ((account_id(i), COLLATERAL_USD) for i in range(spec.accounts)),
        )
        conn.executemany(
            "INSERT INTO api_keys (public_key, account_id, secret_enc, access, rate_budget, revoked, expires_ms, "
            f"bucket_level, bucket_updated_ms, nonce_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {now_ms}, 0)",
            _key_rows(spec, box, now_ms),
        )
        conn.executemany(
            "INSERT INTO positions (account_id, symbol, size, entry_price, fill_time) VALUES (?, ?, ?, ?, ?)",
            _position_rows(spec),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    rows = spec.accounts * (3 + spec.positions)
    return BuildReport(time.perf_counter() - started, migrated - started, rows)


def build_postgres(spec: WorldSpec, database_url: str, key_file: Path) -> BuildReport:
    """Migrate, then load the world with COPY in one transaction."""
    import psycopg

    started = time.perf_counter()
    migrate(database_url, key_file)
    migrated = time.perf_counter()
    box = _box(database_url, key_file)
    now_ms = time.time_ns() // 1_000_000
    insts, marks = _static_rows(spec)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        _copy(cur, "instruments (symbol, raw)", insts)
        cur.execute("INSERT INTO collateral_currencies (currency, price, haircut) VALUES ('USD', '1', '0')")
        _copy(cur, "marks (symbol, price)", marks)
        _copy(cur, "accounts (id, active)", ((account_id(i), 1) for i in range(spec.accounts)))
        _copy(
            cur,
            "balances (account_id, currency, quantity)",
            ((account_id(i), "USD", COLLATERAL_USD) for i in range(spec.accounts)),
        )
        _copy(
            cur,
            "api_keys (public_key, account_id, secret_enc, access, rate_budget, revoked, expires_ms, bucket_level, "
            "bucket_updated_ms, nonce_count)",
            ((*row, now_ms, 0) for row in _key_rows(spec, box, now_ms)),
        )
        _copy(cur, "positions (account_id, symbol, size, entry_price, fill_time)", _position_rows(spec))
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
    rows = spec.accounts * (3 + spec.positions)
    return BuildReport(time.perf_counter() - started, migrated - started, rows)


def _copy(cur: Any, target: str, rows: Iterable[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def put_query(symbol_name: str, leverage: str) -> str:
    return f"symbol={symbol_name}" if leverage == "-" else f"symbol={symbol_name}&maxLeverage={leverage}"


def write_signed(spec: WorldSpec, sample: int, leverages: Iterable[str], out: Path) -> int:
    """Pre-sign, for the first ``sample`` accounts of the visiting order, one GET and one PUT per leverage value.

    The file is read by ``levpref.lua``: a header ``LEV v1 v2 …`` then one line per account:
    ``PUBLIC SYMBOL GET_AUTHENT PUT_AUTHENT_1 … PUT_AUTHENT_L``.
    """
    levs = list(leverages)
    lines = ["LEV " + " ".join(levs)]
    for i in visit_order(spec.accounts, sample):
        secret_b64 = base64.b64encode(secret(i)).decode("ascii")
        sym = symbol(i % spec.positions)
        auths = [sign_b64(secret_b64, put_query(sym, lev), "", PATH) for lev in levs]
        lines.append(" ".join([public_key(i), sym, sign_b64(secret_b64, "", "", PATH), *auths]))
    out.write_text("\n".join(lines) + "\n")
    return len(lines) - 1


def scenario(spec: WorldSpec) -> dict[str, Any]:
    """The same world as a scenario file (for timing the operator's path, ``levpref scenario load``)."""
    return {
        "instruments": [
            {"symbol": symbol(k), "type": "flexible_futures", "contract_size": "1", "margin_levels": TIERS}
            for k in range(spec.positions)
        ],
        "collateral_currencies": {"USD": {"price": "1", "haircut": "0"}},
        "marks": {symbol(k): MARK for k in range(spec.positions)},
        "accounts": [
            {
                "id": account_id(i),
                "collateral": {"USD": COLLATERAL_USD},
                "keys": [
                    {
                        "public": public_key(i),
                        "secret": base64.b64encode(secret(i)).decode("ascii"),
                        "access": "full",
                        "rate_budget": RATE_BUDGET,
                    }
                ],
                "positions": [
                    {"symbol": symbol(k), "size": "1", "entry_price": MARK, "fill_time": FILL_TIME}
                    for k in range(spec.positions)
                ],
            }
            for i in range(spec.accounts)
        ],
    }
