"""What a refused request must leave untouched: preferences, account state, the audit log (and the server log).

``capture`` reads the state through the admin API (scenario export, audit log) and through the Kraken API with a
valid key and no nonce (so reading never touches a nonce window); two snapshots compare equal when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import world
from tests.support.server import ServerProcess
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
PNL = "/derivatives/api/v3/pnlpreferences"
ACCOUNT_IDS = ("alice", "bob", "dormant")


@dataclass(frozen=True)
class Snapshot:
    scenario: dict[str, Any]
    audit: dict[str, int]  # entries per account, and "*" for the whole log
    leverage: Any  # alice's GET /leveragepreferences payload, without serverTime
    pnl: Any  # alice's GET /pnlpreferences payload, without serverTime


def _kraken_payload(response: httpx.Response) -> Any:
    body = response.json()
    assert body.get("result") == "success", response.text
    return {name: value for name, value in body.items() if name != "serverTime"}


def capture(server: ServerProcess, client: httpx.Client) -> Snapshot:
    with server.admin() as admin:
        exported = admin.get("/admin/v1/scenario")
        assert exported.status_code == 200, exported.text
        audit: dict[str, int] = {}
        for account in ACCOUNT_IDS:
            entries = admin.get(f"/admin/v1/accounts/{account}/audit")
            assert entries.status_code == 200, entries.text
            audit[account] = len(entries.json()["audit"])
        everything = admin.get("/admin/v1/audit")
        assert everything.status_code == 200, everything.text
        audit["*"] = len(everything.json()["audit"])
    return Snapshot(
        scenario=exported.json(),
        audit=audit,
        leverage=_kraken_payload(call(client, "GET", LEVERAGE, world.ALICE_FULL)),
        pnl=_kraken_payload(call(client, "GET", PNL, world.ALICE_FULL)),
    )


class LogCursor:
    """The part of a server's log written since the cursor was made."""

    def __init__(self, server: ServerProcess) -> None:
        self._server = server
        self._start = len(server.logs())

    def new(self) -> str:
        return self._server.logs()[self._start :]
