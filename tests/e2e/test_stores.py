"""What could differ between the stores but must not: answers are the same on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import world
from tests.support.server import ServerProcess
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
# Code-point order: 'X' < '_' < 'a'. A database collation such as en-US would put them otherwise.
SYMBOLS = ["PF_aUSD", "PF_XBTUSD", "PFXUSD", "PF_ETHUSD", "PF_XBTUSD_2"]


def test_lists_are_sorted_by_symbol_in_code_point_order_on_every_store(
    server: ServerProcess, http: httpx.Client
) -> None:
    scenario = world.scenario(alice_preferences=[{"symbol": s, "max_leverage": "5"} for s in SYMBOLS])
    listed = {i["symbol"] for i in scenario["instruments"]}
    for symbol in SYMBOLS:
        if symbol not in listed:
            scenario["instruments"].append({**scenario["instruments"][1], "symbol": symbol})
    server.load(scenario)

    got = call(http, "GET", LEVERAGE, world.ALICE_FULL).json()
    assert [p["symbol"] for p in got["leveragePreferences"]] == sorted(SYMBOLS)
    instruments = [i["symbol"] for i in http.get("/derivatives/api/v3/instruments").json()["instruments"]]
    assert instruments == sorted(instruments)
    assert set(SYMBOLS) <= set(instruments)


OPEN_AT_ONCE = """
import asyncio, sys, time
from levpref.adapters.storage.sqlite import SqliteStore
folder, start, files = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
for i in range(files):
    while time.time() < start + i * 0.05:  # every process opens file i at the same moment (spin: sleep is coarse)
        pass
    asyncio.run(SqliteStore(f"{folder}/{i}.db").migrate())
"""


def test_several_processes_can_open_a_new_sqlite_file_at_the_same_moment(tmp_path: Path) -> None:
    """Nodes started together on a fresh file all switch it to WAL at once; none may fail with "locked"."""
    files, start = 20, time.time() + 1.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(tmp_path), str(start), str(files)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, errors
    assert len(list(tmp_path.glob("*.db"))) == files
