"""Races and a crash with several server processes on one database, on SQLite and on PostgreSQL (SPEC §2.2, §2.3,
§3.4 and §4 "Storage": per-account serialisation, nonce uniqueness, rate budgets, no acknowledged change lost).

Every test starts two nodes (``levpref serve --workers 2`` each: four server processes) on different ports, sharing
one fresh database and one master key file, and drives them over real HTTP from many threads released together.
Outcomes are checked one to one against the audit log and the final state. Figures go to the terminal summary and
``tests/.results/figures.json``.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from levpref.adapters.secretbox import write_key_file
from tests.support import figures, world
from tests.support.postgres import PostgresCluster
from tests.support.server import ServerProcess
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
ACCOUNTS = "/derivatives/api/v3/accounts"
THREADS = 16
HANG_GUARD = 120.0  # seconds: only to turn a deadlock into a failure, never a performance expectation
XBT, ETH = "PF_XBTUSD", "PF_ETHUSD"
NOTIONAL = Decimal(60000)  # both positions below: long 1 XBT and long 20 ETH at their marks
TWO_POSITIONS = [
    {"symbol": XBT, "size": "1", "entry_price": "60000"},
    {"symbol": ETH, "size": "20", "entry_price": "3000"},
]
IM_CROSS = Decimal(1200)  # IM(60 000) on either contract's first tier (2 %)
_databases = itertools.count()


# --- nodes ----------------------------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each store."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'levpref.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"concurrency_{next(_databases)}")


@pytest.fixture
def nodes(database_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Two nodes of two worker processes each, started at the same moment on one database and one master key."""
    key_file = tmp_path / "master.key"
    write_key_file(key_file, secrets.token_bytes(32))
    pair = [ServerProcess(database_url, workers=2, master_key_file=str(key_file)) for _ in range(2)]
    try:
        with ThreadPoolExecutor(len(pair)) as pool:
            list(pool.map(ServerProcess.start, pair))
        yield pair
    finally:
        for node in pair:
            node.stop()


@pytest.fixture
def clients(nodes: list[ServerProcess]) -> Iterator[list[httpx.Client]]:
    """One HTTP client per node, shared by the threads (each concurrent request gets its own connection)."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    opened = [httpx.Client(base_url=node.base, timeout=HANG_GUARD, limits=limits) for node in nodes]
    yield opened
    for client in opened:
        client.close()


# --- firing requests ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Shot:
    node: int
    key: tuple[str, str]
    query: str = ""
    method: str = "PUT"
    path: str = LEVERAGE
    nonce: str | None = None
    change: tuple[str, Decimal] | None = None  # (symbol, maxLeverage) of a PUT that sets a unique leverage

    @property
    def cost(self) -> int:
        return 10 if self.method == "PUT" else 2


@dataclass(frozen=True, slots=True)
class Result:
    shot: Shot
    outcome: str  # "success", a Kraken error ("nonceDuplicate"), a business code ("92"), "unreached" or "unknown"
    request_id: str | None


def put(node: int, key: tuple[str, str], symbol: str, leverage: Decimal) -> Shot:
    return Shot(node, key, f"symbol={symbol}&maxLeverage={leverage}", change=(symbol, leverage))


def send(client: httpx.Client, shot: Shot) -> Result:
    try:
        response = call(client, shot.method, shot.path, shot.key, shot.query, nonce=shot.nonce)
    except httpx.ConnectError:  # never reached a server: certainly no effect
        return Result(shot, "unreached", None)
    except httpx.TransportError:  # sent, no answer: the outcome is unknown
        return Result(shot, "unknown", None)
    body = response.json()
    if body.get("result") == "success":
        outcome = "success"
    elif "errors" in body:
        outcome = str(body["errors"][0]["code"])
    else:
        outcome = str(body.get("error"))
    return Result(shot, outcome, response.headers.get("x-request-id"))


def fire(clients: list[httpx.Client], shots: list[Shot], threads: int = THREADS) -> list[Result]:
    """Send ``shots`` from ``threads`` threads released together (shot ``i`` from thread ``i % threads``)."""
    results: list[Result | None] = [None] * len(shots)
    barrier = threading.Barrier(threads)

    def lane(first: int) -> None:
        barrier.wait(timeout=HANG_GUARD)
        for i in range(first, len(shots), threads):
            results[i] = send(clients[shots[i].node], shots[i])

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(lane, i) for i in range(threads)]:
            future.result()
    done = [r for r in results if r is not None]
    assert len(done) == len(shots)
    return done


# --- reading the state back -----------------------------------------------------------------------------------
def leverage_changes(node: ServerProcess, after_id: int = 0) -> list[dict[str, Any]]:
    """Alice's audited leverage changes with an id above ``after_id``, in commit order."""
    with node.admin() as admin:
        response = admin.get(
            "/admin/v1/accounts/alice/audit", params={"after_id": after_id, "order": "oldest", "limit": 1000}
        )
    assert response.status_code == 200, response.text
    entries = response.json()["audit"]
    assert response.json()["next"] is None, "the audit page is full: keep each test under 1000 entries"
    return [e for e in entries if e["id"] > after_id and e["action"] == "set_leverage_preference"]


def last_audit_id(node: ServerProcess) -> int:
    with node.admin() as admin:
        entries = admin.get("/admin/v1/accounts/alice/audit", params={"limit": 1}).json()["audit"]  # newest first
    return max((e["id"] for e in entries), default=0)


def chain(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check that, per symbol, each change starts from the state the previous one left (from cross at first):
    no change was lost or applied twice. Returns each symbol's final audited state."""
    last: dict[str, dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda e: e["id"]):
        before = last.get(entry["symbol"], {"margin_mode": "cross", "max_leverage": None, "allocated_margin": None})
        assert entry["before"] == before, entry
        last[entry["symbol"]] = entry["after"]
    return last


def allocation(leverage: Decimal) -> Decimal:
    """A = N / L at the mark, rounded up to 1e-8 USD (SPEC §3.4)."""
    return (NOTIONAL / leverage).quantize(Decimal("1e-8"), rounding=ROUND_CEILING)


def check_state(nodes: list[ServerProcess], usd: Decimal, final: dict[str, dict[str, Any]]) -> dict[str, Decimal]:
    """Every node answers the final audited state: preferences, allocations, and healthy margin numbers."""
    isolated = {s: Decimal(a["max_leverage"]) for s, a in final.items() if a["margin_mode"] == "isolated"}
    allocated = {s: allocation(lev) for s, lev in isolated.items()}
    for s, after in final.items():
        if s in allocated:
            assert Decimal(after["allocated_margin"]) == allocated[s], after
    for node in nodes:
        with httpx.Client(base_url=node.base, timeout=30) as client:
            prefs = json.loads(call(client, "GET", LEVERAGE, world.ALICE_READ).text, parse_float=Decimal)
            flex = json.loads(call(client, "GET", ACCOUNTS, world.ALICE_READ).text, parse_float=Decimal)
        assert prefs["leveragePreferences"] == [{"symbol": s, "maxLeverage": isolated[s]} for s in sorted(isolated)]
        flex = flex["accounts"]["flex"]
        cross_im = IM_CROSS * (2 - len(isolated))
        assert flex["initialMargin"] == cross_im + sum(allocated.values())
        assert flex["availableMargin"] == usd - cross_im - sum(allocated.values())
        assert flex["availableMargin"] >= 0
    with nodes[0].admin() as admin:
        exported = admin.get("/admin/v1/scenario").json()
    alice = next(a for a in exported["accounts"] if a["id"] == "alice")
    stored = {p["symbol"]: p.get("allocated_margin") for p in alice["positions"]}
    assert {s: Decimal(a) for s, a in stored.items() if a is not None} == allocated
    return allocated


def wait_for(condition: threading.Condition, predicate: Callable[[], bool], what: str) -> None:
    with condition:
        assert condition.wait_for(predicate, timeout=HANG_GUARD), f"hang guard: never saw {what}"


# --- the races ------------------------------------------------------------------------------------------------
def test_margin_race_accepts_exactly_the_affordable_changes_and_audits_each_once(
    nodes: list[ServerProcess], clients: list[httpx.Client], request: pytest.FixtureRequest
) -> None:
    """40 000 USD; long 1 XBT and long 20 ETH (N = 60 000 each), both cross. Isolating one at L in [2, 2.23]
    (A ≥ 26 906) is affordable; isolating both is not (92). Each round fires 48 PUTs with unique leverages at
    both contracts, through two keys of the account and four processes: the first change to commit decides
    the round; every later change of that contract succeeds, every change of the other one is refused."""
    usd, rounds, per_round = Decimal(40000), 4, 48
    keys = [world.ALICE_FULL, world.PROBE]
    totals: Counter[str] = Counter()
    winners: Counter[str] = Counter()
    lost = phantom = 0
    for round_ in range(rounds):
        nodes[round_ % 2].load(world.scenario(alice_usd=str(usd), alice_positions=TWO_POSITIONS))
        start_id = last_audit_id(nodes[0])
        shots = [
            put((i // 2) % 2, keys[(i // 4) % 2], (XBT, ETH)[i % 2], Decimal("2.00") + Decimal("0.01") * (i // 2))
            for i in range(per_round)
        ]
        results = fire(clients, shots)
        totals.update(r.outcome for r in results)
        accepted = [r for r in results if r.outcome == "success"]
        entries = leverage_changes(nodes[(round_ + 1) % 2], start_id)
        answered, audited = Counter(r.request_id for r in accepted), Counter(e["request_id"] for e in entries)
        lost += sum((answered - audited).values())
        phantom += sum((audited - answered).values())

        assert {r.outcome for r in results} <= {"success", "92"}
        winner = {r.shot.change[0] for r in accepted if r.shot.change}
        assert len(winner) == 1, "both contracts isolated: the account was not serialised"
        (won,) = winner
        winners[won] += 1
        for r in results:
            assert r.outcome == ("success" if r.shot.change and r.shot.change[0] == won else "92"), r
        assert answered == audited, "success responses and audit entries differ"
        final = chain(entries)
        assert set(final) == {won}
        check_state(nodes, usd, final)

    figures.record(
        request.node.name,
        fired=rounds * per_round,
        accepted=totals["success"],
        rejected_92=totals["92"],
        other=sum(totals.values()) - totals["success"] - totals["92"],
        lost=lost,
        unaudited_or_phantom=phantom,
        rounds_won=dict(winners),
    )
    assert lost == phantom == 0


def test_replay_race_accepts_one_copy_of_a_signed_request_and_refuses_the_rest_as_duplicates(
    nodes: list[ServerProcess], clients: list[httpx.Client], request: pytest.FixtureRequest
) -> None:
    """The same signed PUT with the same Nonce, 16 copies at once, 8 at each node: one success, 15 nonceDuplicate."""
    rounds, copies = 10, 16
    nodes[0].load(world.scenario())
    start_id = last_audit_id(nodes[0])
    base = time.time_ns()
    totals: Counter[str] = Counter()
    winners: list[Result] = []
    for round_ in range(rounds):
        shot = Shot(0, world.ALICE_FULL, f"symbol={XBT}&maxLeverage={10 + round_}", nonce=str(base + round_))
        results = fire(clients, [Shot(i % 2, shot.key, shot.query, nonce=shot.nonce) for i in range(copies)], copies)
        outcomes = Counter(r.outcome for r in results)
        totals.update(outcomes)
        assert outcomes == {"success": 1, "nonceDuplicate": copies - 1}, outcomes
        winners += [r for r in results if r.outcome == "success"]
    entries = leverage_changes(nodes[1], start_id)
    figures.record(
        request.node.name,
        fired=rounds * copies,
        accepted=totals["success"],
        rejected_duplicate=totals["nonceDuplicate"],
        other=sum(totals.values()) - totals["success"] - totals["nonceDuplicate"],
        audited=len(entries),
        lost=len({r.request_id for r in winners} - {e["request_id"] for e in entries}),
    )
    assert sorted(e["request_id"] for e in entries) == sorted(r.request_id for r in winners)
    assert Decimal(chain(entries)[XBT]["max_leverage"]) == 10 + rounds - 1


def test_budget_race_never_accepts_more_than_the_budget_plus_its_refill(
    nodes: list[ServerProcess], clients: list[httpx.Client], request: pytest.FixtureRequest
) -> None:
    """One key with a budget of 200 (refill 20 per second), hammered through both nodes by 16 threads with a mix
    of PUTs (cost 10) and GETs (cost 2). Charged = everything not refused with apiLimitExceeded. Over the burst,
    charged ≤ 200 + the refill over the burst's duration + one request's cost; and ≥ 200 − one request's cost
    (the budget is not under-granted either)."""
    budget, fired = 200, 320
    nodes[0].load(world.scenario(rate_budget=budget))
    shots = [
        Shot(i % 2, world.ALICE_FULL, f"symbol={XBT}&maxLeverage={10 * (1 + i // 4 % 2)}")
        if i % 4 == 0
        else Shot(i % 2, world.ALICE_FULL, method="GET")
        for i in range(fired)
    ]
    began = time.time()
    results = fire(clients, shots)
    elapsed_ms = (time.time() - began) * 1000 + 2  # +2: the server's clock reads whole milliseconds
    outcomes = Counter(r.outcome for r in results)
    charged = sum(r.shot.cost for r in results if r.outcome != "apiLimitExceeded")
    refill = Decimal(budget) * Decimal(elapsed_ms) / 10_000
    figures.record(
        request.node.name,
        fired=fired,
        accepted=sum(r.outcome != "apiLimitExceeded" for r in results),
        rejected=outcomes["apiLimitExceeded"],
        accepted_cost=charged,
        budget=budget,
        refill_during_burst=round(refill, 1),
        bound=round(budget + refill + 10, 1),
        lost=0,
    )
    assert set(outcomes) <= {"success", "apiLimitExceeded"}, outcomes
    assert outcomes["apiLimitExceeded"] > 0
    assert budget - 10 <= charged <= budget + refill + 10


def test_failed_authentication_race_never_allows_more_guesses_than_the_ip_budget(
    nodes: list[ServerProcess], clients: list[httpx.Client], request: pytest.FixtureRequest
) -> None:
    """200 badly signed requests from one IP through both nodes at once: at most 20 (the per-IP budget) plus its
    refill (20 per minute) are answered authenticationError, the rest apiLimitExceeded."""
    limit, fired = 20, 200
    nodes[0].load(world.scenario())
    shots = [Shot(i % 2, (f"guess-{i:04d}", world.SPEC_SECRET), method="GET", path=ACCOUNTS) for i in range(fired)]
    began = time.time()
    results = fire(clients, shots)
    elapsed_ms = (time.time() - began) * 1000 + 2
    outcomes = Counter(r.outcome for r in results)
    refill = Decimal(limit) * Decimal(elapsed_ms) / 60_000
    figures.record(
        request.node.name,
        fired=fired,
        authentication_errors=outcomes["authenticationError"],
        rejected=outcomes["apiLimitExceeded"],
        bound=round(limit + refill + 1, 2),
    )
    assert set(outcomes) <= {"authenticationError", "apiLimitExceeded"}, outcomes
    assert limit <= outcomes["authenticationError"] <= limit + refill + 1


# --- the crash ------------------------------------------------------------------------------------------------
def test_a_killed_node_loses_no_acknowledged_change_and_invents_none(
    nodes: list[ServerProcess], clients: list[httpx.Client], request: pytest.FixtureRequest
) -> None:
    """8 threads stream PUTs with unique leverages (4 at each node, two keys, two contracts). After node 0 has
    acknowledged 30 changes it is killed with SIGKILL (supervisor and workers); node 1 goes on for 30 more; node 0
    restarts and acknowledges 20 more. Then every acknowledged change is in the audit log exactly once, nothing
    that was refused or never reached a server is, each change starts from the state the previous one left, and
    preferences, allocated margins and margin numbers match the last audited change on every node."""
    usd = Decimal(100000)
    nodes[0].load(world.scenario(alice_usd=str(usd), alice_positions=TWO_POSITIONS))
    keys = [world.ALICE_FULL, world.PROBE]
    counter = itertools.count()
    results: list[tuple[int, Result]] = []  # (phase, result); phase 0 before the kill, 1 while down, 2 restarted
    phase = 0
    progress = threading.Condition()
    stop, back = threading.Event(), threading.Event()

    def acknowledged(node: int, in_phase: int) -> int:
        return sum(p == in_phase and r.shot.node == node and r.outcome == "success" for p, r in results)

    def stream(lane: int) -> None:
        node, key = lane % 2, keys[lane // 2 % 2]
        while not stop.is_set():
            k = next(counter)
            leverage = Decimal("2.00") + Decimal("0.01") * (k // 2)  # unique per contract
            result = send(clients[node], put(node, key, (XBT, ETH)[k % 2], leverage))
            with progress:
                results.append((phase, result))
                progress.notify_all()
                pause = result.outcome in ("unreached", "unknown") or (phase == 1 and acknowledged(1, 1) >= 30)
            if pause:  # node 0 is down, or node 1 did its share while it was: wait for the restart
                back.wait(timeout=HANG_GUARD)

    with ThreadPoolExecutor(8) as pool:
        lanes = [pool.submit(stream, lane) for lane in range(8)]
        try:
            wait_for(progress, lambda: acknowledged(0, 0) >= 30, "30 changes acknowledged by node 0")
            with progress:
                phase = 1
            nodes[0].kill9()
            wait_for(progress, lambda: acknowledged(1, 1) >= 30, "30 changes acknowledged by node 1 while 0 is down")
            nodes[0].start()
            with progress:
                phase = 2
            back.set()
            wait_for(progress, lambda: acknowledged(0, 2) >= 20, "20 changes acknowledged by the restarted node 0")
        finally:
            stop.set()
            back.set()
            for lane in lanes:
                lane.result()

    outcomes = Counter(r.outcome for _, r in results)
    answered = {r.shot.change: r for _, r in results if r.outcome == "success"}
    unknown = {r.shot.change for _, r in results if r.outcome == "unknown"}
    entries = leverage_changes(nodes[1])
    audited = {(e["symbol"], Decimal(e["after"]["max_leverage"])): e for e in entries}
    lost = set(answered) - set(audited)
    phantom = set(audited) - set(answered) - unknown
    figures.record(
        request.node.name,
        fired=len(results),
        accepted=outcomes["success"],
        rejected=sum(n for o, n in outcomes.items() if o not in ("success", "unreached", "unknown")),
        unreached_while_down=outcomes["unreached"],
        in_flight_at_kill=outcomes["unknown"],
        in_flight_committed=len(set(audited) & unknown),
        audited=len(entries),
        lost=len(lost),
        phantom=len(phantom),
    )
    assert set(outcomes) <= {"success", "unreached", "unknown"}, outcomes
    assert len(audited) == len(entries), "a change was audited twice"
    assert not lost, f"acknowledged but lost: {sorted(lost)}"
    assert not phantom, f"present but never acknowledged nor in flight: {sorted(phantom)}"
    for change, result in answered.items():
        assert audited[change]["request_id"] == result.request_id
    final = chain(entries)
    check_state(nodes, usd, final)
