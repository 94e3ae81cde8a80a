"""One configuration object, built once from the environment and CLI flags, then passed down.

Every setting has an environment variable (``LEVPREF_…``) and a CLI flag of the same name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///.levpref/levpref.db"


@dataclass(frozen=True, slots=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1
    admin_token: str | None = None
    scenario: str | None = None
    master_key: str | None = None
    master_key_file: str | None = None
    nonce_window: int = 256
    require_nonce: bool = False
    failed_auth_limit: int = 20
    max_body: int = 65536
    max_header_bytes: int = 65536
    read_timeout: int = 10
    sqlite_synchronous: str = "NORMAL"
    sqlite_wal_limit: int = 16 * 1024 * 1024
    pg_pool_size: int = 8
    trust_forwarded: bool = False
    trusted_hops: int = 1
    max_connections_per_ip: int = 256
    idle_timeout: int = 5
    max_requests_in_progress: int = 2048
    max_headers: int = 100
    log_level: str = "warning"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Config:
        """Defaults, then ``LEVPREF_*`` variables, then explicit overrides (CLI flags that were given)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"LEVPREF_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.type, raw, f.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)  # type: ignore[arg-type]
        config.validate()
        return config

    def validate(self) -> None:
        if not (
            self.database_url.startswith("sqlite:///") or self.database_url.startswith(("postgresql://", "postgres://"))
        ):
            raise ValueError("database URL must be sqlite:///PATH or postgresql://…")
        if not 1 <= self.workers <= 64:
            raise ValueError("workers must be between 1 and 64")
        if self.sqlite_synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError("sqlite synchronous must be NORMAL, FULL or EXTRA (never below NORMAL)")
        if not 1 <= self.nonce_window <= 100_000:
            raise ValueError("nonce window must be between 1 and 100000")
        if not 1024 <= self.max_header_bytes <= 16 * 1024 * 1024:
            raise ValueError("max header bytes must be between 1024 and 16777216")
        if not 1 <= self.read_timeout <= 3600:
            raise ValueError("read timeout must be between 1 and 3600 seconds")
        if not 1024 * 1024 <= self.sqlite_wal_limit <= 1024**4:
            raise ValueError("sqlite WAL limit must be between 1 MiB and 1 TiB")
        if not 1 <= self.trusted_hops <= 16:
            raise ValueError("trusted hops must be between 1 and 16")
        if not 1 <= self.max_connections_per_ip <= 1_000_000:
            raise ValueError("max connections per IP must be between 1 and 1000000")
        if not 1 <= self.idle_timeout <= 3600:
            raise ValueError("idle timeout must be between 1 and 3600 seconds")
        if not 1 <= self.max_requests_in_progress <= 1_000_000:
            raise ValueError("max requests in progress must be between 1 and 1000000")
        if not 8 <= self.max_headers <= 10_000:
            raise ValueError("max headers must be between 8 and 10000")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> str:
        return self.database_url[len("sqlite:///") :]

    @property
    def key_file(self) -> Path:
        """Where the master key lives when not configured: beside the SQLite file, else ``.levpref/``."""
        if self.master_key_file:
            return Path(self.master_key_file)
        base = Path(self.sqlite_path).parent if self.is_sqlite else Path(".levpref")
        return base / "master.key"

    def to_env(self) -> dict[str, str]:
        """The environment that rebuilds this configuration (for worker processes)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f"LEVPREF_{f.name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return out


def _coerce(kind: object, raw: str, name: str) -> object:
    text = str(kind)
    if "bool" in text:
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError(f"LEVPREF_{name.upper()} must be true or false")
        return raw.lower() in ("1", "true", "yes")
    if text.startswith("int"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"LEVPREF_{name.upper()} must be an integer") from None
    return raw
