"""One configuration object, built once from the environment and CLI flags, then passed down.

Rules:
- Every field is a setting with an environment variable (``LEVPREF_<FIELD>``) and a CLI flag (``--<field>``, with
  ``-`` for ``_``); its ``help`` metadata is the flag's help line, and ``scope`` says which commands take it
  (``store``: every command; ``server``: ``serve`` and ``demo``). Flags override variables, variables defaults.
- The default database is one SQLite file per user, whatever the working directory:
  ``$XDG_DATA_HOME/levpref/levpref.db`` (``~/.local/share/levpref/levpref.db``). ``serve``, ``demo`` and every
  operator command use it unless told otherwise, so they all see the same world.
- A relative SQLite path (``sqlite:///world.db``) is resolved from the working directory when the configuration is
  built, and kept absolute from then on (worker processes, messages).
- Nothing is read at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

SQLITE_PREFIX = "sqlite:///"
MIN_ADMIN_TOKEN = 24  # characters (SPEC §4, "Secrets in exports")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("json", "text")


def _setting(default: Any, text: str, scope: str = "server", **extra: Any) -> Any:
    """A field with its flag's help line and the commands that take it."""
    return field(default=default, metadata={"help": text, "scope": scope, **extra})


@dataclass(frozen=True, slots=True)
class Config:
    database_url: str = _setting(
        "", "sqlite:///PATH or postgresql://…; default: ~/.local/share/levpref/levpref.db", "store", metavar="URL"
    )
    master_key_file: str | None = _setting(
        None,
        "AES key file sealing API secrets, created 0600 when missing; default: master.key beside the SQLite file",
        "store",
        metavar="FILE",
    )
    master_key: str | None = _setting(
        None, "the master key itself, base64 (prefer the variable: flags show in ps)", "store", metavar="BASE64"
    )
    pg_pool_size: int = _setting(8, "PostgreSQL connections per server process", "store")
    sqlite_synchronous: str = _setting(
        "NORMAL",
        "SQLite synchronous mode: NORMAL, FULL or EXTRA (never lower)",
        "store",
        choices=("NORMAL", "FULL", "EXTRA"),
    )
    sqlite_wal_limit: int = _setting(16 * 1024 * 1024, "bytes of SQLite write-ahead log before a checkpoint", "store")
    host: str = _setting("127.0.0.1", "address to listen on")
    port: int = _setting(8787, "TCP port to listen on (1 to 65535; 0: any free port, printed)")
    workers: int = _setting(1, "server processes on this port (1 to 64)")
    admin_token: str | None = _setting(
        None, "admin API bearer token, at least 24 characters; default: generated and printed once", metavar="TOKEN"
    )
    scenario: str | None = _setting(
        None, "a scenario file (TOML or JSON) to load at start, replacing the world", metavar="FILE"
    )
    nonce_window: int = _setting(256, "nonces remembered per API key")
    require_nonce: bool = _setting(False, "refuse private requests without a Nonce header (ccxt sends none)")
    failed_auth_limit: int = _setting(20, "failed authentications per client address per minute")
    max_body: int = _setting(65536, "largest request body in bytes (over it: 413)")
    max_header_bytes: int = _setting(65536, "largest request head (line and headers) in bytes (over it: 414/431)")
    max_headers: int = _setting(100, "most header lines in a request head")
    read_timeout: int = _setting(10, "seconds a request may take to arrive whole (else 408)")
    idle_timeout: int = _setting(5, "seconds a connection may stay without a complete request head")
    max_connections_per_ip: int = _setting(256, "open connections per client address and server process")
    max_requests_in_progress: int = _setting(2048, "requests answered at once per server process (else 503)")
    trust_forwarded: bool = _setting(False, "take client addresses from X-Forwarded-For (behind a proxy only)")
    trusted_hops: int = _setting(1, "proxies in front of the server whose X-Forwarded-For entries are trusted")
    log_level: str = _setting("warning", "least severe log level shown", choices=LOG_LEVELS)
    log_format: str = _setting("json", "log lines as JSON objects or as text", choices=LOG_FORMATS)

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
        values["database_url"] = resolve_database_url(str(values.get("database_url") or default_database_url(env)))
        config = cls(**values)  # type: ignore[arg-type]
        config.validate()
        return config

    def validate(self) -> None:
        """Refuse the first setting out of its bounds (checked in a fixed order), naming it."""
        if not (self.is_sqlite or self.database_url.startswith(("postgresql://", "postgres://"))):
            raise ValueError("database URL must be sqlite:///PATH or postgresql://…")
        if self.is_sqlite and not self.sqlite_path:
            raise ValueError("database URL sqlite:/// needs a path: sqlite:///PATH")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 1 and 65535 (or 0 for any free port), not {self.port}")
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN:
            raise ValueError(
                f"the admin token (--admin-token, LEVPREF_ADMIN_TOKEN) must be at least {MIN_ADMIN_TOKEN} characters, "
                f"this one has {len(self.admin_token)}; leave it out to have one generated"
            )
        if not 1 <= self.workers <= 64:  # not in _BOUNDS: checked before the synchronous mode, as always
            raise ValueError("workers must be between 1 and 64")
        if self.sqlite_synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError("sqlite synchronous must be NORMAL, FULL or EXTRA (never below NORMAL)")
        for name, low, high, message in _BOUNDS:
            if not low <= getattr(self, name) <= high:
                raise ValueError(message)
        if self.log_level.lower() not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ValueError("log format must be json or text")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith(SQLITE_PREFIX)

    @property
    def sqlite_path(self) -> str:
        return self.database_url[len(SQLITE_PREFIX) :]

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


# The integer settings' bounds, in the order they are checked: (field, lowest, highest, the refusal).
_BOUNDS: tuple[tuple[str, int, int, str], ...] = (
    ("pg_pool_size", 1, 1000, "pg pool size must be between 1 and 1000"),
    ("nonce_window", 1, 100_000, "nonce window must be between 1 and 100000"),
    ("failed_auth_limit", 1, 1_000_000, "failed auth limit must be between 1 and 1000000"),
    ("max_body", 1024, 1024**3, "max body must be between 1024 and 1073741824"),
    ("max_header_bytes", 1024, 16 * 1024 * 1024, "max header bytes must be between 1024 and 16777216"),
    ("read_timeout", 1, 3600, "read timeout must be between 1 and 3600 seconds"),
    ("sqlite_wal_limit", 1024 * 1024, 1024**4, "sqlite WAL limit must be between 1 MiB and 1 TiB"),
    ("trusted_hops", 1, 16, "trusted hops must be between 1 and 16"),
    ("max_connections_per_ip", 1, 1_000_000, "max connections per IP must be between 1 and 1000000"),
    ("idle_timeout", 1, 3600, "idle timeout must be between 1 and 3600 seconds"),
    ("max_requests_in_progress", 1, 1_000_000, "max requests in progress must be between 1 and 1000000"),
    ("max_headers", 8, 10_000, "max headers must be between 8 and 10000"),
)


def default_database_url(env: Mapping[str, str]) -> str:
    """``sqlite:///`` + ``$XDG_DATA_HOME/levpref/levpref.db`` (``~/.local/share`` when unset): one per user."""
    data_home = env.get("XDG_DATA_HOME") or ""
    if not Path(data_home).is_absolute():  # the XDG rule: a relative value is ignored
        home = env.get("HOME") or str(Path.home())
        data_home = str(Path(home) / ".local" / "share")
    return SQLITE_PREFIX + str(Path(data_home) / "levpref" / "levpref.db")


def resolve_database_url(url: str) -> str:
    """A relative SQLite path made absolute from the working directory; any other URL as given."""
    if not url.startswith(SQLITE_PREFIX) or not url[len(SQLITE_PREFIX) :]:
        return url
    return SQLITE_PREFIX + os.path.abspath(os.path.expanduser(url[len(SQLITE_PREFIX) :]))


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
