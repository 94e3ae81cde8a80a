"""The admin API and the CLI print the same JSON for the same thing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import world
from tests.support.server import ServerProcess


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "levpref.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_an_account_reads_the_same_through_the_admin_api_and_the_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'same.db'}"
    preferences = [{"symbol": "PF_ETHUSD", "max_leverage": "10.50", "pnl_currency": "BTC"}]
    server = ServerProcess(url, scenario=world.scenario(alice_preferences=preferences)).start()
    try:
        with server.admin() as admin:
            answered = admin.get("/admin/v1/accounts/alice")
            pools = admin.get("/admin/v1/accounts/alice/pools").json()
        shown = _cli("accounts", "show", "alice", "--database-url", url)
    finally:
        server.stop()
    assert shown.returncode == 0, shown.stderr
    printed = json.loads(
        shown.stdout
    )  # GET /admin/v1/accounts/{id}, with the active flag, positions and keys of …/pools
    assert {name: printed[name] for name in answered.json()} == answered.json()
    assert {name: printed[name] for name in ("active", "positions", "keys")} == {
        name: pools[name] for name in ("active", "positions", "keys")
    }
    assert answered.json()["preferences"] == [{"symbol": "PF_ETHUSD", "max_leverage": "10.50", "pnl_currency": "BTC"}]


def test_an_export_writes_every_amount_in_plain_notation_so_it_loads_again(server: ServerProcess) -> None:
    with server.admin() as admin:
        assert admin.put("/admin/v1/accounts/alice/collateral/USD", json={"quantity": "0.0000001"}).status_code == 200
        assert admin.put("/admin/v1/marks/PF_ETHUSD", json={"price": "0.00000025"}).json()["price"] == "0.00000025"
        exported = admin.get("/admin/v1/scenario", params={"secrets": "true"})
        assert "E-" not in exported.text
        alice = next(a for a in exported.json()["accounts"] if a["id"] == "alice")
        assert alice["collateral"] == {"USD": "0.0000001"}
        assert admin.put("/admin/v1/scenario", content=exported.content).status_code == 200
        assert admin.get("/admin/v1/scenario", params={"secrets": "true"}).json() == exported.json()
