"""Scenario loads and operator actions under the revised rules (issue 9 findings 4, 7 and 9; issue 10 item 6):
a load replaces the world atomically during traffic, keeps the nonce windows of unchanged keys, and admin
authentication is limited per client address; an admin resize records the margin it moves."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.e2e.test_concurrency import clients, database_url, nodes  # noqa: F401 - the two-node fixtures
from tests.support import world
from tests.support.server import ADMIN_TOKEN, ServerProcess
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
ACCOUNTS = "/derivatives/api/v3/accounts"


def outcome(response: httpx.Response) -> str:
    body = response.json()
    if body.get("result") == "success":
        return "success"
    return str(body.get("error") or body["errors"][0]["code"])


# --- nonce windows across loads (finding 7) -----------------------------------------------------------------------


def test_loading_the_same_world_keeps_every_unchanged_keys_nonce_window(
    server: ServerProcess, http: httpx.Client
) -> None:
    nonce = str(time.time_ns())
    assert outcome(call(http, "GET", ACCOUNTS, world.ALICE_FULL, nonce=nonce)) == "success"
    server.load(world.scenario(reset_nonces=False))
    assert outcome(call(http, "GET", ACCOUNTS, world.ALICE_FULL, nonce=nonce)) == "nonceDuplicate"


def test_a_load_with_reset_nonces_or_a_new_secret_starts_a_fresh_window(
    server: ServerProcess, http: httpx.Client
) -> None:
    nonce = str(time.time_ns())
    assert outcome(call(http, "GET", ACCOUNTS, world.ALICE_FULL, nonce=nonce)) == "success"
    assert outcome(call(http, "GET", ACCOUNTS, world.BOB_FULL, nonce=nonce)) == "success"
    server.load(world.scenario(reset_nonces=True))
    assert outcome(call(http, "GET", ACCOUNTS, world.ALICE_FULL, nonce=nonce)) == "success"
    rekeyed = world.scenario(reset_nonces=False)
    bob = next(a for a in rekeyed["accounts"] if a["id"] == "bob")
    bob["keys"][0]["secret"] = world.ALICE_FULL[1]  # the same public key with another secret: a new key
    server.load(rekeyed)
    assert outcome(call(http, "GET", ACCOUNTS, (world.BOB_FULL[0], world.ALICE_FULL[1]), nonce=nonce)) == "success"


# --- loads during traffic, two nodes of two workers (finding 4) ---------------------------------------------------


def test_scenario_loads_during_traffic_never_show_a_missing_key_a_deadlock_or_a_server_error(
    nodes: list[ServerProcess],  # noqa: F811
    clients: list[httpx.Client],  # noqa: F811
) -> None:
    """Before (PostgreSQL, 2 nodes × 2 workers): 5–29 % of valid PUTs answered authenticationError, plus deadlocks
    and AssertionErrors answered Server Error."""
    scenario = world.scenario()
    nodes[0].load(scenario)
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def traffic(worker: int) -> None:
        client = clients[worker % 2]
        i = 0
        while not stop.is_set():
            leverage = 10 + (worker * 7 + i) % 30
            got = outcome(call(client, "PUT", LEVERAGE, world.ALICE_FULL, f"symbol=PF_XBTUSD&maxLeverage={leverage}"))
            with lock:
                outcomes[got] += 1
            i += 1

    loads: list[int] = []
    with ThreadPoolExecutor(9) as pool:
        workers = [pool.submit(traffic, w) for w in range(8)]
        with httpx.Client(
            base_url=nodes[1].base, timeout=60, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as admin:
            for _ in range(15):
                loads.append(admin.put("/admin/v1/scenario", json=scenario).status_code)
                time.sleep(0.05)
        stop.set()
        for future in workers:
            future.result()
    print(f"15 loads during traffic: {dict(outcomes)}")
    assert loads == [200] * 15
    assert set(outcomes) == {"success"}, outcomes
    assert sum(outcomes.values()) > 50
    for node in nodes:
        assert "Traceback" not in node.logs()
        assert "deadlock" not in node.logs().lower()


# --- admin authentication is limited per address (finding 9) ------------------------------------------------------


def admin_client(server: ServerProcess, address: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base,
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        transport=httpx.HTTPTransport(local_address=address),
    )


def test_guessing_the_admin_token_is_slowed_down_per_address(server: ServerProcess) -> None:
    """Before: 3 000 guesses at 2 869/s, no slow-down."""
    with admin_client(server, "127.0.0.7", "a-wrong-token-of-some-length-000") as guesser:
        answers = [guesser.get("/admin/v1/audit").status_code for _ in range(25)]
        assert answers[:20] == [401] * 20
        assert set(answers[20:]) == {429}
        refused = guesser.get("/admin/v1/audit")
        assert refused.json()["error"] == "AdminRateLimited"
    with admin_client(server, "127.0.0.7", ADMIN_TOKEN) as locked:
        assert locked.get("/admin/v1/audit").status_code == 429  # even the right token, while locked out
    with admin_client(server, "127.0.0.8", ADMIN_TOKEN) as operator:
        assert operator.get("/admin/v1/audit").status_code == 200  # the operator elsewhere is not


# --- an admin resize records the margin it moves (issue 10 item 6) -------------------------------------------------


def latest(server: ServerProcess) -> dict[str, Any]:
    with server.admin() as admin:
        return dict(admin.get("/admin/v1/accounts/alice/audit?limit=1").json()["audit"][0])


def test_an_admin_resize_of_an_isolated_position_records_the_margin_it_moves(
    server: ServerProcess, http: httpx.Client
) -> None:
    assert outcome(call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")) == "success"
    assert latest(server)["margin_moved"] == "6000"
    with server.admin() as admin:
        moved = admin.put("/admin/v1/accounts/alice/positions/PF_XBTUSD", json={"size": "2", "entry_price": "60000"})
        assert moved.status_code == 200, moved.text
    entry = latest(server)
    assert (entry["action"], entry["margin_moved"]) == ("set_position", "6000")  # A: 6 000 → 12 000
    with server.admin() as admin:
        assert admin.delete("/admin/v1/accounts/alice/positions/PF_XBTUSD").status_code == 200
    entry = latest(server)
    assert (entry["action"], entry["margin_moved"]) == ("delete_position", "-12000")
    with server.admin() as admin:
        admin.put("/admin/v1/accounts/alice/positions/PF_ETHUSD", json={"size": "1", "entry_price": "3000"})
    assert latest(server)["margin_moved"] is None  # a cross position moves no margin
