"""What each kind of request costs the database: SQL statements and round trips, counted in the drivers.

A real server (``levpref serve``, one worker) on each store answers a fixed sequence of requests of one kind at a
time, one after the other (no group commit to amortise a COMMIT over several requests: the worst case); the
counters ``levpref_sql_statements_total`` and ``levpref_db_round_trips_total`` are read from ``/metrics`` before
and after, and divided by the number of requests. Prints a table and returns the figures for the JSON record.
The PostgreSQL count is the wire's: ``tests/e2e/test_round_trips.py`` puts a turn-counting proxy in between.

    .venv/bin/python -m bench.roundtrips [--postgres]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from levpref.auth.authent import sign_b64

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import world  # noqa: E402 - the test world: alice, long 1 PF_XBTUSD @ 60 000
from tests.support.server import ServerProcess  # noqa: E402

BASE = "/derivatives/api/v3"
REQUESTS = 200
WINDOW = 256  # the server's default nonce window: a ccxt bot's key keeps it full
_COUNTER = re.compile(r'^levpref_(sql_statements|db_round_trips)_total\{store="(\w+)"\} ([0-9.e+]+)$', re.M)


def _counters(client: httpx.Client, store: str) -> dict[str, float]:
    page = client.get("/metrics").text
    return {kind: float(value) for kind, label, value in _COUNTER.findall(page) if label == store}


_NONCES = iter(range(10**12, 10**13))


def _signed(client: httpx.Client, method: str, path: str, query: str, *, nonce: bool) -> httpx.Response:
    """One signed request, with a fresh ``Nonce`` header when ``nonce`` (as ccxt and python-kraken-sdk send)."""
    sent = str(next(_NONCES)) if nonce else ""
    headers = {"APIKey": world.ALICE_FULL[0], "Authent": sign_b64(world.ALICE_FULL[1], query, sent, path)}
    if nonce:
        headers["Nonce"] = sent
    return client.request(method, httpx.URL(f"{path}?{query}" if query else path), headers=headers)


def _toggle(i: int) -> str:
    return "symbol=PF_XBTUSD" + ("&maxLeverage=10" if i % 2 else "")


KINDS: dict[str, tuple[str, str, Callable[[int], str]]] = {
    "PUT accepted (cross ↔ isolated)": ("PUT", f"{BASE}/leveragepreferences", _toggle),
    "PUT accepted, Nonce, full window": ("PUT", f"{BASE}/leveragepreferences", _toggle),
    "PUT refused (92)": ("PUT", f"{BASE}/leveragepreferences", lambda i: "symbol=PF_XBTUSD&maxLeverage=2"),
    "PUT harmless repeat": ("PUT", f"{BASE}/leveragepreferences", lambda i: "symbol=PF_ETHUSD"),
    "GET leveragepreferences": ("GET", f"{BASE}/leveragepreferences", lambda i: ""),
    "GET leveragepreferences, Nonce": ("GET", f"{BASE}/leveragepreferences", lambda i: ""),
    "GET accounts": ("GET", f"{BASE}/accounts", lambda i: ""),
    "GET openpositions": ("GET", f"{BASE}/openpositions", lambda i: ""),
    "GET preview": ("GET", f"{BASE}/leveragepreferences/preview", lambda i: "symbol=PF_XBTUSD&maxLeverage=10"),
}  # fmt: skip


def measure(store: str, server: ServerProcess) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for kind, (method, path, query) in KINDS.items():
            server.load(world.scenario())
            nonce = "Nonce" in kind
            for _ in range(WINDOW + 1 if nonce else 1):  # warm: caches, prepared statements, a full nonce window
                _signed(client, "GET", f"{BASE}/leveragepreferences", "", nonce=nonce)
            _signed(client, method, path, query(0), nonce=nonce)
            before = _counters(client, store)
            for i in range(1, REQUESTS + 1):
                _signed(client, method, path, query(i), nonce=nonce)
            after = _counters(client, store)
            figures[kind] = {name: round((after[name] - before[name]) / REQUESTS, 2) for name in after}
    return figures


@contextmanager
def _servers(postgres: bool) -> Iterator[dict[str, ServerProcess]]:
    running: dict[str, ServerProcess] = {}
    cluster = None
    with tempfile.TemporaryDirectory(prefix="levpref-roundtrips-") as tmp:
        try:
            running["sqlite"] = ServerProcess(f"sqlite:///{tmp}/r.db", scenario=world.scenario()).start()
            if postgres:
                from tests.support.postgres import PostgresCluster

                cluster = PostgresCluster()
                cluster.start()
                url = cluster.create_database("roundtrips")
                running["postgresql"] = ServerProcess(url, scenario=world.scenario()).start()
            yield running
        finally:
            for server in running.values():
                server.stop()
            if cluster is not None:
                cluster.stop()


def run(postgres: bool) -> dict[str, Any]:
    started = time.monotonic()
    with _servers(postgres) as servers:
        out: dict[str, Any] = {store: measure(store, server) for store, server in servers.items()}
    out["elapsed_seconds"] = round(time.monotonic() - started, 1)
    return out


def print_table(figures: dict[str, Any]) -> None:
    stores = [s for s in ("sqlite", "postgresql") if s in figures]
    print("\nDatabase cost per request (sequential requests, one worker)")
    head = "".join(f"{s + ' stmts':>20}{s + ' trips':>20}" for s in stores)
    print(f"{'request':<36}{head}")
    for kind in KINDS:
        cells = "".join(
            f"{figures[s][kind]['sql_statements']:>20}{figures[s][kind]['db_round_trips']:>20}" for s in stores
        )
        print(f"{kind:<36}{cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.roundtrips", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL cluster")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    figures = run(args.postgres)
    print_table(figures)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
