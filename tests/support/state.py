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


def audit_count(admin: httpx.Client, path: str) -> int:
    """How many entries the audit log at ``path`` holds, paging through all of it (pages hold at most 1000)."""
    count, cursor = 0, {}
    while True:
        page = admin.get(path, params={"limit": 1000, **cursor})
        assert page.status_code == 200, page.text
        count += len(page.json()["audit"])
        cursor = page.json()["next"]
        if cursor is None:
            return count


def capture(server: ServerProcess, client: httpx.Client) -> Snapshot:
    with server.admin() as admin:
        exported = admin.get("/admin/v1/scenario")
        assert exported.status_code == 200, exported.text
        audit = {account: audit_count(admin, f"/admin/v1/accounts/{account}/audit") for account in ACCOUNT_IDS}
        audit["*"] = audit_count(admin, "/admin/v1/audit")
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
