"""A real ``levpref serve`` process for a test suite: its world, its keys, its admin API and its clients.

Rules:
- The server is a separate process (``python -m levpref.cli serve``) on a free port of 127.0.0.1 with its own
  SQLite file in a private directory; nothing is mocked. ``LEVPREF_*`` variables of the calling environment are not
  passed on (a developer's ``LEVPREF_DATABASE_URL`` must never point a test server at a real database).
- The world is a scenario (SPEC §4): the packaged demo world by default, a TOML/JSON file or a dict. Every key
  entry without ``public``/``secret`` gets a generated pair *before* the server starts, so this object knows every
  key, and :meth:`Admin.reset` restores exactly the same world, keys included.
- :meth:`LevprefServer.stop` always ends the process: ``SIGTERM`` to its process group, ``SIGKILL`` after a timeout.
  A server still running when the interpreter exits is killed then.
- ccxt and python-kraken-sdk are optional: a client factory imports its client when called and says how to
  install it when it is missing.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import importlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

import httpx
import msgspec

from levpref.adapters.secretbox import new_key_pair

if TYPE_CHECKING:
    from kraken.futures import Market, User

Access = Literal["full", "read"]
Amount = str | int | Decimal
ScenarioSource = str | os.PathLike[str] | Mapping[str, Any] | None

_ENCODER = msgspec.json.Encoder(decimal_format="number")
_LIVE: set[LevprefServer] = set()


class LevprefStartError(RuntimeError):
    """The server process did not become ready; the message ends with the tail of its log."""


class LevprefAdminError(RuntimeError):
    """The admin API refused a call (``status`` is the HTTP status, ``body`` the JSON answer)."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Key:
    """An API key of the world: its account, the public key, the secret (base64) and its access."""

    account: str
    public: str
    secret: str
    access: str


@dataclass(frozen=True, slots=True)
class World:
    """A scenario document ready to load (every key filled in) and the keys it holds."""

    document: dict[str, Any]
    keys: tuple[Key, ...]

    def key(self, account: str | None = None, access: Access = "full") -> Key:
        """The first key of ``access`` of ``account`` (default: the first account that has a full-access key)."""
        if account is None:
            account = next((k.account for k in self.keys if k.access == "full"), None)
            if account is None:
                raise LookupError("the scenario has no full-access key")
        for key in self.keys:
            if key.account == account and key.access == access:
                return key
        raise LookupError(f"the scenario gives account {account!r} no {access!r} key")


DEMO_SCENARIO = "levpref:data/demo.toml"  # the packaged demo world (``levpref demo`` serves the same one)


def read_world(source: ScenarioSource, base_dir: Path | None = None) -> World:
    """A :class:`World` from a scenario: ``None`` (the demo world), a TOML/JSON path (relative to ``base_dir``)
    or a mapping in the scenario structure. ``instruments_file`` is resolved beside the file that names it."""
    if source is None or source == DEMO_SCENARIO:
        demo = resources.files("levpref") / "data"
        raw = _parse(demo.joinpath("demo.toml").read_text(encoding="utf-8"), ".toml", "demo.toml")
        raw = _inline_instruments(raw, lambda name: demo.joinpath(name).read_bytes())
    elif isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
    else:
        path = Path(source)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        raw = _parse(path.read_text(encoding="utf-8"), path.suffix, str(path))
        raw = _inline_instruments(raw, lambda name: (path.parent / name).read_bytes())
    return _with_keys(raw)


def _parse(text: str, suffix: str, name: str) -> dict[str, Any]:
    if suffix == ".toml":
        data: Any = tomllib.loads(text, parse_float=Decimal)
    elif suffix == ".json":
        data = json.loads(text, parse_float=Decimal)
    else:
        raise ValueError(f"{name}: a scenario file ends in .toml or .json")
    if not isinstance(data, dict):
        raise ValueError(f"{name}: a scenario is a table/object at the top level")
    return data


def _inline_instruments(raw: dict[str, Any], read: Callable[[str], bytes]) -> dict[str, Any]:
    name = raw.pop("instruments_file", None)
    if name is None:
        return raw
    loaded = json.loads(read(str(name)), parse_float=Decimal)
    listed = loaded.get("instruments", []) if isinstance(loaded, dict) else loaded
    return {**raw, "instruments": [*listed, *raw.get("instruments", [])]}


def _with_keys(raw: dict[str, Any]) -> World:
    keys: list[Key] = []
    for account in raw.get("accounts", []):
        if not isinstance(account, dict):
            continue
        for entry in account.get("keys", []):
            if isinstance(entry, dict) and not (entry.get("public") and entry.get("secret")):
                entry["public"], entry["secret"] = new_key_pair()
            if isinstance(entry, dict):
                access = str(entry.get("access", "full"))
                keys.append(Key(str(account.get("id")), str(entry["public"]), str(entry["secret"]), access))
    return World(raw, tuple(keys))


def _amount(value: Amount) -> str:
    """An amount as the admin API reads it: a plain decimal string (never ``1E+3``)."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def stop_process_group(process: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """End a process started in its own session, and its children: ``SIGTERM``, then ``SIGKILL`` after ``timeout``."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _optional(module: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"this client factory needs {package}: pip install {package} (or pip install 'levpref[clients]')"
        ) from None


def ccxt_urls(base_url: str) -> dict[str, str]:
    """ccxt ``krakenfutures``'s ``urls["api"]`` for a server at ``base_url``."""
    api = f"{base_url}/derivatives/api/"
    return {
        "public": api,
        "private": api,
        "charts": f"{base_url}/api/charts/",
        "history": f"{base_url}/api/history/",
        "feeschedules": f"{base_url}/api/feeschedules/",
    }


class Admin:
    """The server's admin API (``/admin/v1``, bearer token): every change is validated and audited by the server.

    Amounts are strings, integers or Decimals (floats are not exact: pass ``"58500.5"``). A refusal raises
    :class:`LevprefAdminError`."""

    def __init__(self, server: LevprefServer) -> None:
        self._server = server
        self._http = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=30
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """Any admin call: ``path`` under the server (``/admin/v1/…``), ``body`` encoded as JSON; the decoded answer."""
        content = None if body is None else _ENCODER.encode(body)
        headers = {} if content is None else {"Content-Type": "application/json"}
        response = self._http.request(method, path, content=content, headers=headers, params=params)
        answer = json.loads(response.content, parse_float=Decimal) if response.content else None
        if response.status_code >= 300:
            raise LevprefAdminError(method, path, response.status_code, answer)
        return answer

    def load(self, scenario: ScenarioSource, base_dir: Path | None = None) -> World:
        """Replace the whole world (keys left out of it are generated); the server's keys become this world's."""
        world = read_world(scenario, base_dir or self._server.base_dir)
        self.request("PUT", "/admin/v1/scenario", world.document)
        self._server.world = world
        return world

    def reset(self) -> None:
        """Restore the world the server started with, keys included (milliseconds: one transaction)."""
        self.request("PUT", "/admin/v1/scenario", self._server.initial_world.document)
        self._server.world = self._server.initial_world

    def mark(self, symbol: str, price: Amount) -> Any:
        """Move a contract's mark price."""
        return self.request("PUT", f"/admin/v1/marks/{symbol}", {"price": _amount(price)})

    def currency(self, currency: str, price: Amount, haircut: Amount = "0") -> Any:
        """List a collateral currency (or change it) with its USD price and haircut."""
        return self.request(
            "PUT", f"/admin/v1/currencies/{currency}", {"price": _amount(price), "haircut": _amount(haircut)}
        )

    def collateral(self, account: str, currency: str, quantity: Amount) -> Any:
        """Set an account's balance of a collateral currency."""
        return self.request(
            "PUT", f"/admin/v1/accounts/{account}/collateral/{currency}", {"quantity": _amount(quantity)}
        )

    def position(self, account: str, symbol: str, size: Amount, entry_price: Amount) -> Any:
        """Open or resize a position (signed size: < 0 is short); in an isolated contract it gets ``N / L``."""
        body = {"size": _amount(size), "entry_price": _amount(entry_price)}
        return self.request("PUT", f"/admin/v1/accounts/{account}/positions/{symbol}", body)

    def delete_position(self, account: str, symbol: str) -> Any:
        """Close a position; its margin returns to the cross pool."""
        return self.request("DELETE", f"/admin/v1/accounts/{account}/positions/{symbol}")

    def set_active(self, account: str, active: bool) -> Any:
        """Create an account, or (de)activate one (an inactive account answers ``accountInactive``)."""
        return self.request("PUT", f"/admin/v1/accounts/{account}", {"active": active})

    def account(self, account: str) -> Any:
        """The account's ``flex`` summary (the figures of ``GET /accounts``) and its preferences."""
        return self.request("GET", f"/admin/v1/accounts/{account}")

    def create_key(self, account: str, access: Access = "full", rate_budget: int = 500) -> Key:
        """Issue a new API key for ``account``."""
        body = {"access": access, "rate_budget": rate_budget}
        made = self.request("POST", f"/admin/v1/accounts/{account}/keys", body)
        return Key(account, str(made["public"]), str(made["secret"]), access)

    def audit(self, account: str | None = None, **params: Any) -> Any:
        """The audit log (of one account, or all), as the admin API answers it; ``params`` go in the query."""
        path = "/admin/v1/audit" if account is None else f"/admin/v1/accounts/{account}/audit"
        return self.request("GET", path, params=params or None)


class LevprefServer:
    """One ``levpref serve`` process and what a test needs to talk to it.

    ``base_url`` is the server's root (``http://127.0.0.1:PORT``, what python-kraken-sdk's ``url=`` takes);
    ``api_url`` the Kraken base URL (``…/derivatives/api/v3``). ``api_key``/``api_secret`` are the first
    full-access key of the world (the demo world: account ``demo``), ``read_only_key``/``read_only_secret`` the
    read-only key of the same account."""

    def __init__(
        self,
        scenario: ScenarioSource = None,
        *,
        directory: Path | None = None,
        base_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.base_dir = base_dir or Path.cwd()
        self.initial_world = read_world(scenario, self.base_dir)
        self.world = self.initial_world
        self._own_directory = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="levpref-")) if directory is None else directory
        self.admin_token = secrets.token_urlsafe(24)  # 32 characters
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.directory / "server.log"
        self._env = dict(env or {})
        self._args = list(args)
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._closers: list[Callable[[], object]] = []
        self.admin = Admin(self)

    # --- the process ------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/derivatives/api/v3"

    def start(self) -> Self:
        """Start the process and wait until ``GET /ready`` answers 200 (retried on a port taken meanwhile)."""
        scenario_file = self.directory / "scenario.json"
        scenario_file.write_bytes(_ENCODER.encode(self.initial_world.document))
        for _attempt in range(3):
            self.port = free_port()
            self.admin.close()
            self.admin = Admin(self)
            self._spawn(scenario_file)
            if self._wait_ready():
                return self
            if "address already in use" not in self.logs().lower():
                break
        tail = self.logs()[-4000:]
        self.stop()
        raise LevprefStartError(f"levpref serve did not become ready; its log ends:\n{tail}")

    def _spawn(self, scenario_file: Path) -> None:
        args = [
            sys.executable,
            "-m",
            "levpref.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            f"sqlite:///{self.directory / 'levpref.db'}",
            "--admin-token",
            self.admin_token,
            "--scenario",
            str(scenario_file),
            *self._args,
        ]
        env = {name: value for name, value in os.environ.items() if not name.startswith("LEVPREF_")}
        env.update(self._env)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        _LIVE.add(self)

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self._start_timeout
        with httpx.Client(base_url=self.base_url, timeout=1.0) as probe:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    return False
                with contextlib.suppress(httpx.HTTPError):
                    if probe.get("/ready").status_code == 200:
                        return True
                time.sleep(0.05)
        return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Close the clients made here, then end the process: ``SIGTERM``, ``SIGKILL`` after the stop timeout."""
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                close()
        self.admin.close()
        process, self.process = self.process, None
        _LIVE.discard(self)
        if process is not None:
            stop_process_group(process, self._stop_timeout)
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def logs(self) -> str:
        """What the server printed so far (JSON log lines on stderr; no secret is ever logged)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- keys -------------------------------------------------------------------------------------------------

    def key(self, account: str | None = None, *, read_only: bool = False) -> Key:
        """A key of the current world: ``account``'s first full-access (or read-only) key."""
        return self.world.key(account, "read" if read_only else "full")

    @property
    def api_key(self) -> str:
        return self.key().public

    @property
    def api_secret(self) -> str:
        return self.key().secret

    @property
    def read_only_key(self) -> str:
        return self.world.key(self.key().account, "read").public

    @property
    def read_only_secret(self) -> str:
        return self.world.key(self.key().account, "read").secret

    # --- clients ----------------------------------------------------------------------------------------------

    def ccxt(self, account: str | None = None, *, read_only: bool = False, **config: Any) -> Any:
        """A ccxt ``krakenfutures`` pointed at this server, signed with ``account``'s key (rate limiting off);
        closed when the server stops."""
        module = _optional("ccxt", "ccxt")
        key = self.key(account, read_only=read_only)
        exchange = module.krakenfutures(
            {"apiKey": key.public, "secret": key.secret, "enableRateLimit": False, **config}
        )
        exchange.urls["api"] = ccxt_urls(self.base_url)
        self._closers.append(exchange.close)
        return exchange

    def ccxt_async(self, account: str | None = None, *, read_only: bool = False, **config: Any) -> Any:
        """A ``ccxt.async_support.krakenfutures`` pointed at this server. Close it yourself, in its event loop:
        ``async with server.ccxt_async() as exchange: …`` (or ``await exchange.close()``)."""
        module = _optional("ccxt.async_support", "ccxt")
        key = self.key(account, read_only=read_only)
        exchange = module.krakenfutures(
            {"apiKey": key.public, "secret": key.secret, "enableRateLimit": False, **config}
        )
        exchange.urls["api"] = ccxt_urls(self.base_url)
        exchange.timeout_on_exit = 0  # close() would wait 250 ms for TLS shutdowns; this is plain HTTP
        return exchange

    def kraken_market(self, account: str | None = None, *, read_only: bool = False) -> Market:
        """python-kraken-sdk's ``kraken.futures.Market`` (the preference calls) pointed at this server."""
        module = _optional("kraken.futures", "python-kraken-sdk")
        key = self.key(account, read_only=read_only)
        market: Market = module.Market(key=key.public, secret=key.secret, url=self.base_url)
        self._closers.append(_sdk_closer(market))
        return market

    def kraken_user(self, account: str | None = None, *, read_only: bool = False) -> User:
        """python-kraken-sdk's ``kraken.futures.User`` (open positions, wallets) pointed at this server."""
        module = _optional("kraken.futures", "python-kraken-sdk")
        key = self.key(account, read_only=read_only)
        user: User = module.User(key=key.public, secret=key.secret, url=self.base_url)
        self._closers.append(_sdk_closer(user))
        return user


def _sdk_closer(client: object) -> Callable[[], object]:
    """The SDK's sync clients have no ``close()``; their ``requests`` session is a private attribute."""
    session = getattr(client, "_FuturesClient__session", None)
    return session.close if session is not None else (lambda: None)


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_LIVE):
        server.stop()
