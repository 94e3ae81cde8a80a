"""Metrics, request ids, structured logs, readiness, brute-force limits and secrets at rest (issue 5)."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import world
from tests.support.server import ServerProcess
from tests.support.signing import call

LEVERAGE = "/derivatives/api/v3/leveragepreferences"
WRONG = (world.ALICE_FULL[0], base64.b64encode(b"not-the-secret").decode())


def metric(page: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in page.splitlines():
        if line.startswith(name + "{"):
            body = line[len(name) + 1 : line.index("}")]
            if ",".join(sorted(body.split(","))) == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_endpoint_and_kraken_outcome(http: httpx.Client) -> None:
    before = http.get("/metrics").text
    call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_NOPEUSD&maxLeverage=5")
    call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=2")  # 92 (A2 needs 30 000)
    call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")
    call(http, "GET", LEVERAGE, world.ALICE_READ)
    page = http.get("/metrics")
    assert page.headers["content-type"].startswith("text/plain")
    after = page.text
    put = "PUT leveragepreferences"
    for outcome, delta in (("87", 1), ("92", 1), ("success", 1)):
        assert (
            metric(after, "levpref_requests_total", endpoint=put, outcome=outcome)
            - metric(before, "levpref_requests_total", endpoint=put, outcome=outcome)
            == delta
        )
    for decision in ("insufficient_margin", "accepted"):
        assert metric(after, "levpref_margin_decisions_total", outcome=decision) > metric(
            before, "levpref_margin_decisions_total", outcome=decision
        )
    assert 'levpref_request_duration_seconds_bucket{endpoint="GET leveragepreferences"' in after


def test_every_response_carries_a_request_id_that_the_json_log_records(
    server: ServerProcess, http: httpx.Client
) -> None:
    response = call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", request_id)
    assert http.get("/nope").headers["x-request-id"] != request_id
    http.get("/health")  # a later request, so the line above is surely flushed
    entries = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    mine = [e for e in entries if e.get("request_id") == request_id]
    assert len(mine) == 1
    assert mine[0]["path"] == LEVERAGE
    assert mine[0]["outcome"] == "success"
    assert mine[0]["status"] == 200


def test_health_and_readiness(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/ready").json() == {"status": "ready"}


def test_failed_authentications_lock_the_guessed_key_and_show_in_metrics(http: httpx.Client) -> None:
    before = http.get("/metrics").text
    answers = [call(http, "GET", LEVERAGE, WRONG).json()["error"] for _ in range(21)]
    assert answers == ["authenticationError"] * 20 + ["apiLimitExceeded"]
    locked = call(http, "GET", LEVERAGE, world.ALICE_FULL).json()
    assert locked["error"] == "apiLimitExceeded"  # the guessed key is locked for a while, even with its secret
    other = call(http, "GET", LEVERAGE, world.BOB_FULL).json()
    assert other["error"] == "apiLimitExceeded"  # and so is this client IP
    after = http.get("/metrics").text
    assert (
        metric(after, "levpref_rate_limit_refusals_total", scope="ip")
        - metric(before, "levpref_rate_limit_refusals_total", scope="ip")
        == 3
    )
    assert (
        metric(after, "levpref_auth_failures_total", kind="authentication")
        - metric(before, "levpref_auth_failures_total", kind="authentication")
        == 20
    )


def test_api_secrets_are_encrypted_at_rest(sqlite_server: ServerProcess) -> None:
    database = sqlite_server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as conn:
        stored = [row[0] for row in conn.execute("SELECT secret_enc FROM api_keys")]
    conn.close()
    assert stored
    assert all(s.startswith("v1:") for s in stored)
    raw = b"".join(Path(p).read_bytes() for p in (database, database + "-wal") if Path(p).exists())
    for _, secret in world.ALL_KEYS:
        assert secret.encode() not in raw
        assert base64.b64decode(secret) not in raw
    key_file = Path(database).parent / "master.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_rotating_the_master_key_keeps_every_key_working(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'rotate.db'}", scenario=world.scenario()).start()
    key_file = tmp_path / "master.key"
    try:
        old = key_file.read_text()
        server.stop()
        rotated = subprocess.run(
            [sys.executable, "-m", "levpref.cli", "rotate-master-key", "--database-url", server.database_url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert rotated.returncode == 0, rotated.stderr
        assert "re-sealed 5 secrets" in rotated.stdout
        assert key_file.read_text() != old
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        assert not (tmp_path / "master.key.new").exists()
        server.start(load_scenario=False)
        with httpx.Client(base_url=server.base) as http:
            assert call(http, "GET", LEVERAGE, world.ALICE_FULL).json()["result"] == "success"
            assert call(http, "GET", LEVERAGE, world.BOB_FULL).json()["result"] == "success"
    finally:
        server.stop()


def test_revoked_and_expired_keys_are_refused(server: ServerProcess, http: httpx.Client) -> None:
    with server.admin() as admin:
        created = admin.post("/admin/v1/accounts/bob/keys", json={"access": "full", "expires_ms": 1}).json()
        expired = (created["public"], created["secret"])
        assert call(http, "GET", LEVERAGE, expired).json()["error"] == "authenticationError"
        assert call(http, "GET", LEVERAGE, world.BOB_FULL).json()["result"] == "success"
        assert admin.delete(f"/admin/v1/keys/{world.BOB_FULL[0]}").status_code == 200
    assert call(http, "GET", LEVERAGE, world.BOB_FULL).json()["error"] == "authenticationError"
