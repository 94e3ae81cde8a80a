"""The kept sums of large accounts (``adapters/storage/account_sums.py``) never change an answer, on either store.

Two long-lived stores on one database (a SQLite file, or a PostgreSQL database) stand for two server processes, each
keeping sums of alice (24 positions, above ``MIN_POSITIONS``). Random operations run on either: leverage changes
through the Kraken use case, and the operator's marks, positions, deletions and collateral. After each, a fresh store
(no kept sums: it reads every position) and both long-lived ones must answer the same preview and flex account, to
the last digit.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levpref.adapters.http import render
from levpref.adapters.secretbox import SecretBox
from levpref.adapters.storage.account_sums import MIN_POSITIONS
from levpref.adapters.storage.postgres import PostgresStore
from levpref.adapters.storage.sqlite import SqliteStore
from levpref.adapters.wire.scenario import decode_scenario
from levpref.auth.authent import sign_b64
from levpref.errors import LevprefError
from levpref.service.admin import AdminService
from levpref.service.kraken import AuthSettings, Endpoint, KrakenRequest, KrakenService
from levpref.service.ports import Store
from tests.support import world
from tests.support.postgres import PostgresCluster

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
SYMBOLS = [f"PF_A{i:02d}USD" for i in range(24)]
BOX = SecretBox(b"s" * 32)


def _large_world() -> dict[str, Any]:
    scenario = world.scenario(alice_usd="2000000")
    for i, symbol in enumerate(SYMBOLS):
        scenario["instruments"].append(
            {"symbol": symbol, "type": "flexible_futures", "contract_size": "1", "tradeable": True,
             "margin_levels": world.XBT_TIERS}
        )  # fmt: skip
        scenario["marks"][symbol] = str(1000 + 37 * i)
        size = str((i % 5 + 1) * (1 if i % 3 else -1))
        scenario["accounts"][0]["positions"].append({"symbol": symbol, "size": size, "entry_price": str(1000 + i)})
    return scenario


def _store(url: str) -> Store:
    return SqliteStore(url) if not url.startswith("postgresql://") else PostgresStore(url, max_size=2)


class Process:
    """One long-lived store (its own kept sums) and the services over it."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.store = _store(url)
        if isinstance(self.store, PostgresStore):
            self.run(self.store.open())
        self.admin = AdminService(self.store, BOX)
        self.kraken = KrakenService(self.store, BOX, AuthSettings())

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def call(self, endpoint: Endpoint, path: str, query: str, clock: int) -> Any:
        key = world.ALICE_FULL
        request = KrakenRequest(
            "GET" if endpoint is not Endpoint.PUT_LEVERAGE else "PUT", path, query, "", "", key[0],
            sign_b64(key[1], query, "", path), None, "127.0.0.1", f"r{clock}", clock,
        )  # fmt: skip
        try:
            return self.run(self.kraken.handle(endpoint, request))
        except LevprefError as refusal:
            return refusal

    def answers(self, symbol: str, clock: int) -> tuple[Any, Any]:
        preview = self.call(Endpoint.PREVIEW_LEVERAGE, f"{LEVERAGE}/preview", f"symbol={symbol}&maxLeverage=5", clock)
        flex = self.call(Endpoint.GET_ACCOUNTS, "/derivatives/api/v3/accounts", "", clock)
        return render.preview_body(preview), render.flex(flex)

    def close(self) -> None:
        self.run(self.store.close())


class Lab:
    def __init__(self, url: str) -> None:
        self.path = url
        self.loop = asyncio.new_event_loop()
        self.processes = [Process(self.path, self.loop), Process(self.path, self.loop)]
        self.processes[0].run(self.processes[0].store.migrate())
        self.clock = 10_000

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def fresh_answers(self, symbol: str) -> tuple[Any, Any]:
        fresh = Process(self.path, self.loop)
        try:
            return fresh.answers(symbol, self.tick())
        finally:
            fresh.close()

    def close(self) -> None:
        for process in self.processes:
            process.close()
        self.loop.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    with tempfile.TemporaryDirectory() as directory:
        if request.param == "sqlite":
            url = str(Path(directory) / "kept.db")
        else:
            cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
            url = cluster.create_database("kept_sums")
        opened = Lab(url)
        yield opened
        opened.close()


symbols = st.sampled_from(SYMBOLS)
operations = st.one_of(
    st.tuples(st.just("leverage"), symbols, st.sampled_from([None, "2", "5", "10", "20", "50"])),
    st.tuples(st.just("mark"), symbols, st.integers(500, 3000)),
    st.tuples(st.just("position"), symbols, st.integers(-6, 6).filter(bool)),
    st.tuples(st.just("delete"), symbols, st.none()),
    st.tuples(st.just("collateral"), st.just("USD"), st.integers(0, 3_000_000)),
)


def _apply(lab: Lab, process: Process, operation: tuple[str, str, Any]) -> None:
    kind, target, value = operation
    now = lab.tick()
    try:
        if kind == "leverage":
            query = f"symbol={target}" + ("" if value is None else f"&maxLeverage={value}")
            process.call(Endpoint.PUT_LEVERAGE, LEVERAGE, query, now)
        elif kind == "mark":
            process.run(process.admin.set_mark(target, Decimal(value), now))
        elif kind == "position":
            process.run(process.admin.set_position("alice", target, Decimal(value), Decimal(1000), now))
        elif kind == "delete":
            process.run(process.admin.delete_position("alice", target, now))
        else:
            process.run(process.admin.set_collateral("alice", target, Decimal(value), now))
    except LevprefError:
        pass  # e.g. deleting a position that is not there: nothing changed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 1), operations), min_size=1, max_size=8), symbols)
def test_kept_sums_in_two_processes_answer_exactly_what_reading_every_position_answers(
    lab: Lab, steps: list[tuple[int, tuple[str, str, Any]]], asked: str
) -> None:
    first = lab.processes[0]
    first.run(first.admin.load_scenario(decode_scenario(_large_world()), now_ms=0))
    for index, operation in steps:
        _apply(lab, lab.processes[index], operation)
        expected = lab.fresh_answers(asked)
        for process in lab.processes:
            assert process.answers(asked, lab.tick()) == expected, (operation, steps)


def test_the_world_is_large_enough_to_be_kept() -> None:
    assert len(SYMBOLS) >= MIN_POSITIONS
