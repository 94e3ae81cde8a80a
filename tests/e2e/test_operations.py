"""Operating levpref: the demo command, restarts, the CLI, the admin API and the audit log (SPEC §4)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import ccxt
import httpx
import pytest
from kraken.futures import Market

from tests.support import world
from tests.support.postgres import free_port
from tests.support.server import ServerProcess
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
REPO = Path(__file__).resolve().parents[2]


def levpref(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "levpref.cli", *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "levpref.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},  # its default database, never the developer's
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not {"base", "key", "secret"} <= seen.keys():
        line = proc.stdout.readline()
        if match := re.search(r"base URL:\s+(\S+)", line):
            seen["base"] = match[1]
        if match := re.search(r"API key:\s+(\S+)", line):
            seen["key"] = match[1]
        if match := re.search(r"API secret:\s+(\S+)", line):
            seen["secret"] = match[1]
    server = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{server}/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    seen["server"] = server
    yield seen
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    proc.stdout.close()


def test_the_demo_prints_a_base_url_key_and_secret_that_ccxt_and_the_sdk_can_use(demo: dict[str, str]) -> None:
    assert demo["base"] == f"{demo['server']}/derivatives/api/v3"
    assert len(demo["key"]) == 56
    ex = ccxt.krakenfutures({"apiKey": demo["key"], "secret": demo["secret"], "enableRateLimit": False})
    ex.urls["api"] = {"public": f"{demo['server']}/derivatives/api/", "private": f"{demo['server']}/derivatives/api/"}
    try:
        ex.set_leverage(10, "BTC/USD:USD")
        assert ex.fetch_leverages()["BTC/USD:USD"]["longLeverage"] == 10
        with pytest.raises(ccxt.ExchangeError, match="CONTRACT_NOT_MULTI_COLLATERAL"):
            ex.set_leverage(5, "BTC/USD:BTC")  # PI_XBTUSD
    finally:
        ex.session.close()
    with Market(key=demo["key"], secret=demo["secret"], url=demo["server"]) as sdk:
        sdk.set_leverage_preference(symbol="PF_ETHUSD", maxLeverage=5)
        prefs = sdk.get_leverage_preference()["leveragePreferences"]
    assert {"symbol": "PF_ETHUSD", "maxLeverage": 5.0} in prefs


def test_preferences_nonces_and_allocations_survive_a_restart(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'restart.db'}", scenario=world.scenario()).start()
    try:
        with httpx.Client(base_url=server.base) as http:
            query = "symbol=PF_XBTUSD&maxLeverage=10"
            assert call(http, "PUT", LEVERAGE, world.ALICE_FULL, query, nonce="1000").json()["result"] == "success"
        server.stop()
        server.start(load_scenario=False)
        with httpx.Client(base_url=server.base) as http:
            got = call(http, "GET", LEVERAGE, world.ALICE_FULL, nonce="1001").json()
            assert got["leveragePreferences"] == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]
            replay = call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10", nonce="1000")
            assert replay.json()["error"] == "nonceDuplicate"
            flex = call(http, "GET", "/derivatives/api/v3/accounts", world.ALICE_FULL).json()["accounts"]["flex"]
            assert flex["initialMargin"] == 6000  # A1: the allocation survived
            assert flex["availableMargin"] == 4000
    finally:
        server.stop()


def test_a_toml_scenario_loads_exports_and_reloads_to_the_same_world(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    loaded = levpref("scenario", "load", str(REPO / "examples" / "scenario.toml"), "--database-url", db)
    assert loaded.returncode == 0, loaded.stderr
    keys = json.loads(loaded.stdout)["keys"]
    assert {k["access"] for k in keys} == {"full", "read"}
    first = levpref("scenario", "export", str(tmp_path / "world.json"), "--with-secrets", "--database-url", db)
    assert first.returncode == 0, first.stderr
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert levpref("scenario", "load", str(tmp_path / "world.json"), "--database-url", other).returncode == 0
    again = levpref("scenario", "export", "--with-secrets", "--database-url", other)
    assert json.loads(again.stdout) == json.loads((tmp_path / "world.json").read_text())


def test_cli_commands_change_the_world_and_are_audited(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'ops.db'}"]
    assert levpref("scenario", "load", str(REPO / "examples" / "scenario.toml"), *db).returncode == 0
    steps = [
        ("accounts", "add", "carol"),
        ("prices", "USDT", "1", "--haircut", "0.01"),
        ("collateral", "carol", "USD", "25000"),
        ("positions", "set", "carol", "PF_XBTUSD", "-1.5", "60000"),
        ("marks", "PF_XBTUSD", "58500"),
        ("accounts", "deactivate", "carol"),
    ]
    for step in steps:
        result = levpref(*step, *db)
        assert result.returncode == 0, (step, result.stderr)
    created = levpref("keys", "create", "carol", "--read-only", *db)
    key = json.loads(created.stdout)
    assert key["access"] == "read"
    assert levpref("keys", "revoke", key["public"], *db).returncode == 0
    shown = json.loads(levpref("accounts", "show", "carol", *db).stdout)
    assert shown["flex"]["pnl"] == 2250  # short 1.5 from 60 000 to 58 500
    audit = json.loads(levpref("audit", "carol", *db).stdout)["audit"]
    assert [a["action"] for a in audit] == [  # newest first
        "revoke_key",
        "create_key",
        "set_account",
        "set_position",
        "set_collateral",
        "set_account",
    ]
    assert all(a["actor"] == "cli" for a in audit)
    bad = levpref("collateral", "carol", "USD", "lots", *db)
    assert bad.returncode == 2
    assert "quantity: expected a decimal number" in bad.stderr


def _admin(server: ServerProcess) -> httpx.Client:
    return server.admin()


def test_admin_marks_positions_and_collateral_drive_the_margin_numbers(
    server: ServerProcess, http: httpx.Client
) -> None:
    with _admin(server) as admin:
        seen = admin.get("/admin/v1/audit", params={"limit": 1}).json()["audit"][0]["id"]  # the newest entry
        assert (
            call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_ETHUSD&maxLeverage=5").json()["result"]
            == "success"
        )
        opened = admin.put("/admin/v1/accounts/alice/positions/PF_ETHUSD", json={"size": "2", "entry_price": "3000"})
        assert opened.json()["allocated_margin"] == "1200"  # N / L = 6 000 / 5
        assert admin.put("/admin/v1/marks/PF_XBTUSD", json={"price": "58500"}).status_code == 200
        assert admin.put("/admin/v1/accounts/alice/collateral/USD", json={"quantity": "12000"}).status_code == 200
        flex = call(http, "GET", "/derivatives/api/v3/accounts", world.ALICE_FULL).json()["accounts"]["flex"]
        # cross: CV 12 000 + U(XBT) −1 500 − A 1 200 = 9 300 equity; IM 1 170 → available 8 130
        assert flex["availableMargin"] == 8130
        assert flex["initialMargin"] == 1170 + 1200
        positions = call(http, "GET", "/derivatives/api/v3/openpositions", world.ALICE_FULL).json()["openPositions"]
        assert {p["symbol"]: p.get("maxFixedLeverage") for p in positions} == {"PF_ETHUSD": 5.0, "PF_XBTUSD": None}
        assert admin.delete("/admin/v1/accounts/alice/positions/PF_ETHUSD").status_code == 200
        audit = admin.get("/admin/v1/accounts/alice/audit", params={"after_id": seen, "order": "oldest"}).json()
        actions = [a["action"] for a in audit["audit"]]
        audit = audit["audit"]
        assert actions == ["set_leverage_preference", "set_position", "set_collateral", "delete_position"]
        assert audit[0]["before"]["margin_mode"] == "cross"
        assert audit[0]["after"] == {"margin_mode": "isolated", "max_leverage": "5.00", "allocated_margin": None}


def test_an_accepted_change_is_audited_with_who_when_before_after_and_margin_moved(
    server: ServerProcess, http: httpx.Client
) -> None:
    with _admin(server) as admin:
        seen = admin.get("/admin/v1/audit", params={"limit": 1}).json()["audit"][0]["id"]  # the newest entry
        call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")
        call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")  # a repeat: no entry
        call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD")
        audit = admin.get("/admin/v1/accounts/alice/audit", params={"after_id": seen, "order": "oldest"}).json()[
            "audit"
        ]
    assert [(a["after"]["margin_mode"], a["margin_moved"]) for a in audit] == [("isolated", "6000"), ("cross", "-6000")]
    assert audit[0]["actor"] == f"key:{world.ALICE_FULL[0][:8]}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", audit[0]["at"])
    assert audit[0]["before"] == {"margin_mode": "cross", "max_leverage": None, "allocated_margin": None}


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "error"),
    [
        ("GET", "/admin/v1/scenario", {}, None, 401, "AdminUnauthorized"),
        ("GET", "/admin/v1/scenario", {"Authorization": "Bearer wrong"}, None, 401, "AdminUnauthorized"),
        ("PUT", "/admin/v1/marks/PF_XBTUSD", None, b"{not json", 400, "invalid"),
        ("PUT", "/admin/v1/marks/PF_XBTUSD", None, b'{"price": "-5"}', 400, "invalid"),
        ("PUT", "/admin/v1/marks/PF_NOPE", None, b'{"price": "5"}', 404, "AdminNotFound"),
        ("PUT", "/admin/v1/accounts/zed/collateral/USD", None, b'{"quantity": "5"}', 404, "AdminNotFound"),
        (
            "PUT",
            "/admin/v1/accounts/alice/positions/PI_XBTUSD",
            None,
            b'{"size": "1", "entry_price": "5"}',
            400,
            "invalid",
        ),
        (
            "PUT",
            "/admin/v1/scenario",
            None,
            b'{"accounts": [{"id": "x", "collateral": {"XYZ": "1"}}]}',
            400,
            "invalid",
        ),
        ("PUT", "/admin/v1/scenario", None, b"[1, 2]", 400, "invalid"),
        ("PUT", "/admin/v1/scenario", None, b'{"acounts": []}', 400, "invalid"),
        ("PUT", "/admin/v1/scenario", None, b'{"accounts": [{"id": "x", "colateral": {}}]}', 400, "invalid"),
        ("GET", "/admin/v1/scenario", {"Authorization": "bearer wrong-token"}, None, 401, "AdminUnauthorized"),
    ],
)
def test_admin_refusals_are_clear_json_errors_and_change_nothing(
    server: ServerProcess,
    method: str,
    path: str,
    headers: dict[str, str] | None,
    body: bytes | None,
    status: int,
    error: str,
) -> None:
    with _admin(server) as admin:
        before = admin.get("/admin/v1/scenario").json()
        sent_headers = headers or {}
        if headers is None:
            response = admin.request(method, path, content=body)
        else:
            with httpx.Client(base_url=server.base) as anonymous:
                response = anonymous.request(method, path, content=body, headers=sent_headers)
        assert response.status_code == status
        assert response.json()["error"] == error
        assert admin.get("/admin/v1/scenario").json() == before


def test_a_changed_margin_schedule_takes_effect_at_once(server: ServerProcess, http: httpx.Client) -> None:
    query = "symbol=PF_ETHUSD&maxLeverage=20"
    assert call(http, "PUT", LEVERAGE, world.ALICE_FULL, query).json()["result"] == "success"
    stricter = {
        "symbol": "PF_ETHUSD",
        "type": "flexible_futures",
        "contract_size": "1",
        "margin_levels": [{"num_non_contract_units": "0", "initial_margin": "0.1", "maintenance_margin": "0.05"}],
    }
    with server.admin() as admin:
        assert admin.put("/admin/v1/instruments", json={"instruments": [stricter]}).json() == {"loaded": 1}
    refused = call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_ETHUSD&maxLeverage=15").json()
    assert refused["error"] == "invalidArgument"  # the cap is now 1 / 0.1 = 10
    assert (
        call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_ETHUSD&maxLeverage=10").json()["result"] == "success"
    )
