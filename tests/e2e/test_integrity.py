"""One signature authorises one request (SPEC §2.2 revised, §2.4): what an attacker who has seen a signed request,
or who knows a public key, can no longer do. Each test reproduces a finding of issue 9 against a real server."""

from __future__ import annotations

import socket
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from levpref.auth.authent import sign_b64
from tests.support import world
from tests.support.server import ServerProcess
from tests.support.signing import call, signed_headers
from tests.support.state import capture

BASE = "/derivatives/api/v3"
LEVERAGE = f"{BASE}/leveragepreferences"
ACCOUNTS = f"{BASE}/accounts"
FORM = "application/x-www-form-urlencoded"


def resend(
    client: httpx.Client, headers: dict[str, str], query: str, body: str = "", method: str = "PUT"
) -> httpx.Response:
    """Send ``query`` and ``body`` with headers captured from another request (an attacker's replay)."""
    sent = dict(headers)
    if body:
        sent["Content-Type"] = FORM
    url = httpx.URL(f"{LEVERAGE}?{query}" if query else LEVERAGE)
    return client.request(method, url, content=body.encode() if body else None, headers=sent)


def error_of(response: httpx.Response) -> str:
    body = response.json()
    return str(body.get("error") or body["errors"][0]["code"])


def isolated(client: httpx.Client) -> list[dict[str, object]]:
    return list(call(client, "GET", LEVERAGE, world.ALICE_FULL).json()["leveragePreferences"])


# --- the query/body boundary (finding 1) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("symbol=PF_XBTUSD&maxLeverage=1", "0"),  # 10× becomes 1×: A = 60 000 would leave the cross pool
        ("symbol=PF_XBTUSD&maxLeverage=", "10"),
        ("maxLeverage=2", "5&symbol=PF_XBTUSD"),  # 25× becomes 2×
        ("symbol=PF_XBTUSD&maxLev", "erage=10"),  # split inside a name: the contract would go cross
    ],
    ids=["value-split", "value-moved", "name-moved", "name-split"],
)
def test_moving_the_query_body_boundary_under_one_signature_is_refused_and_changes_nothing(
    server: ServerProcess, http: httpx.Client, query: str, body: str
) -> None:
    """The victim signed ``?<query + body>`` (no Nonce, as ccxt sends); postData is the same string however it is
    split between query and body."""
    headers = signed_headers(world.ALICE_FULL, LEVERAGE, query + body)
    before = capture(server, http)
    assert error_of(resend(http, headers, query, body)) == "invalidArgument"
    assert capture(server, http) == before
    assert isolated(http) == []


def test_the_signed_request_itself_still_works_and_a_form_body_alone_is_accepted(
    server: ServerProcess, http: httpx.Client
) -> None:
    headers = signed_headers(world.ALICE_FULL, LEVERAGE, "symbol=PF_XBTUSD&maxLeverage=10")
    assert resend(http, headers, "symbol=PF_XBTUSD&maxLeverage=10").json()["result"] == "success"
    body = "symbol=PF_ETHUSD&maxLeverage=5"
    assert resend(http, signed_headers(world.ALICE_FULL, LEVERAGE, body=body), "", body).json()["result"] == "success"
    assert [p["symbol"] for p in isolated(http)] == ["PF_ETHUSD", "PF_XBTUSD"]


# --- the legacy decoded form (finding 2) --------------------------------------------------------------------------


def test_a_signature_over_the_decoded_form_does_not_authorise_a_query_that_splits_differently(
    server: ServerProcess, http: httpx.Client
) -> None:
    """``maxLeverage%3D10`` decodes to the signed ``maxLeverage=10`` but is one parameter named ``maxLeverage=10``:
    without the split check the contract would go cross (no ``maxLeverage``) on a signature that asked for 10×."""
    call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")
    assert isolated(http) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]
    headers = signed_headers(world.ALICE_FULL, LEVERAGE, "symbol=PF_XBTUSD&maxLeverage=10")
    before = capture(server, http)
    assert error_of(resend(http, headers, "symbol=PF_XBTUSD&maxLeverage%3D10")) == "authenticationError"
    assert error_of(resend(http, headers, "symbol=PF_XBTUSD%26maxLeverage=10")) == "authenticationError"
    assert capture(server, http) == before


def test_the_legacy_decoded_form_is_still_accepted_when_decoding_keeps_the_split(
    server: ServerProcess, http: httpx.Client
) -> None:
    headers = signed_headers(world.ALICE_FULL, LEVERAGE, "symbol=PF_XBTUSD&maxLeverage=10")  # signed decoded
    assert resend(http, headers, "symbol=PF%5FXBTUSD&maxLeverage=1%30").json()["result"] == "success"
    assert isolated(http) == [{"symbol": "PF_XBTUSD", "maxLeverage": 10.0}]


# --- nonces are consumed, floors kept (finding 7) -----------------------------------------------------------------


def test_a_nonced_request_refused_for_margin_cannot_succeed_when_replayed_after_collateral_is_added(
    server: ServerProcess, http: httpx.Client
) -> None:
    query, nonce = "symbol=PF_XBTUSD&maxLeverage=1", str(time.time_ns())
    headers = signed_headers(world.ALICE_FULL, LEVERAGE, query, nonce=nonce)
    assert error_of(resend(http, headers, query)) == "92"  # A = 60 000 > cross available 8 800
    with server.admin() as admin:
        assert admin.put("/admin/v1/accounts/alice/collateral/USD", json={"quantity": "100000"}).status_code == 200
    assert error_of(resend(http, headers, query)) == "nonceDuplicate"
    assert isolated(http) == []


def test_a_nonce_refused_by_the_rate_limit_or_a_bad_parameter_is_consumed(
    server: ServerProcess, http: httpx.Client
) -> None:
    nonce = str(time.time_ns())
    assert error_of(call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_NOPE", nonce=nonce)) == "87"
    assert error_of(call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_ETHUSD", nonce=nonce)) == "nonceDuplicate"
    assert error_of(call(http, "GET", ACCOUNTS, world.ALICE_FULL, nonce=nonce)) == "nonceDuplicate"  # one window


@pytest.fixture
def small_window_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'w.db'}", scenario=world.scenario(), env={"LEVPREF_NONCE_WINDOW": "4"}
    ).start()
    yield server
    server.stop()


def test_enlarging_the_nonce_window_on_a_restart_never_readmits_an_evicted_nonce(
    small_window_server: ServerProcess,
) -> None:
    server = small_window_server
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for nonce in range(101, 107):  # window 4: 101 and 102 are evicted
            assert call(client, "GET", ACCOUNTS, world.ALICE_FULL, nonce=str(nonce)).json()["result"] == "success"
        assert error_of(call(client, "GET", ACCOUNTS, world.ALICE_FULL, nonce="102")) == "nonceBelowThreshold"
    server.stop()
    server.extra_env["LEVPREF_NONCE_WINDOW"] = "1000"
    server.start(load_scenario=False)
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for evicted in ("101", "102"):
            assert error_of(call(client, "GET", ACCOUNTS, world.ALICE_FULL, nonce=evicted)) == "nonceBelowThreshold"
        assert error_of(call(client, "GET", ACCOUNTS, world.ALICE_FULL, nonce="105")) == "nonceDuplicate"
        assert call(client, "GET", ACCOUNTS, world.ALICE_FULL, nonce="107").json()["result"] == "success"


# --- failed authentications: per address and key, expiring (findings 6, 8) ----------------------------------------


def client_from(server: ServerProcess, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z reaches the server on loopback)."""
    return httpx.Client(base_url=server.base, timeout=10, transport=httpx.HTTPTransport(local_address=address))


def test_a_stranger_who_knows_a_public_key_cannot_lock_its_owner_out(server: ServerProcess) -> None:
    wrong = (world.ALICE_FULL[0], world.BOB_FULL[1])
    with client_from(server, "127.0.0.2") as stranger, client_from(server, "127.0.0.1") as owner:
        answers = [error_of(call(stranger, "GET", ACCOUNTS, wrong)) for _ in range(30)]
        assert answers[:20] == ["authenticationError"] * 20
        assert set(answers[20:]) == {"apiLimitExceeded"}  # the stranger is slowed down
        assert call(owner, "GET", ACCOUNTS, world.ALICE_FULL).json()["result"] == "success"  # the owner is not


@pytest.fixture
def proxied_server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"LEVPREF_TRUST_FORWARDED": "true", "LEVPREF_TRUSTED_HOPS": "1"}
    server = ServerProcess(f"sqlite:///{tmp_path / 'p.db'}", scenario=world.scenario(), env=env).start()
    yield server
    server.stop()


def test_behind_a_trusted_proxy_the_client_cannot_choose_its_address_by_prepending_entries(
    proxied_server: ServerProcess,
) -> None:
    """The proxy appends the address it saw; everything to its left is the client's to write."""
    wrong = (world.ALICE_FULL[0], world.BOB_FULL[1])
    with httpx.Client(base_url=proxied_server.base, timeout=10) as client:
        answers = [
            error_of(call(client, "GET", ACCOUNTS, wrong, headers={"X-Forwarded-For": f"10.9.{i}.1, 203.0.113.7"}))
            for i in range(25)
        ]
        assert answers.count("apiLimitExceeded") == 5, answers
        other = {"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}  # another client of the proxy is still served
        assert call(client, "GET", ACCOUNTS, world.ALICE_FULL, headers=other).json()["result"] == "success"


def test_idle_failed_authentication_buckets_expire(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    server = ServerProcess(f"sqlite:///{db}", scenario=world.scenario()).start()
    try:
        with sqlite3.connect(db) as conn:
            conn.executemany(
                "INSERT INTO ip_failures (ip, level, updated_ms) VALUES (?, 0, 0)",
                [(f"ip:10.0.{i // 250}.{i % 250}",) for i in range(200)],
            )
        with httpx.Client(base_url=server.base, timeout=10) as client:
            call(client, "GET", ACCOUNTS, ("U" * 56, world.ALICE_FULL[1]))
        with sqlite3.connect(db) as conn:
            (stale,) = conn.execute("SELECT COUNT(*) FROM ip_failures WHERE updated_ms = 0").fetchone()
        assert stale == 0
    finally:
        server.stop()


# --- work before authentication and timing (findings 5, 10) -------------------------------------------------------


def _median_ms(port: int, query: str, key: tuple[str, str], tries: int) -> float:
    """The server's time to answer, measured on a raw socket (a client library's URL handling would dominate)."""
    head = f"GET {LEVERAGE}?{query} HTTP/1.1\r\nHost: x\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in signed_headers(key, LEVERAGE, query).items())
    data = (head + "\r\n").encode()
    times = []
    for _ in range(tries):
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.3", 0)) as sock:
            started = time.perf_counter()
            sock.sendall(data)
            answer = sock.recv(65536)
            times.append((time.perf_counter() - started) * 1000)
        assert b"apiLimitExceeded" in answer, answer[:300]
    return statistics.median(times)


def test_a_locked_out_client_costs_the_same_with_ten_thousand_parameters_as_with_one(server: ServerProcess) -> None:
    """Nothing is parsed before authentication: the refusal of a 10 000-parameter query from an address that is
    locked out does not cost the parsing (23 ms before the fix, against 0.9 ms for one parameter)."""
    wrong = ("U" * 56, world.ALICE_FULL[1])
    big = "&".join("a=1" for _ in range(10_000))  # 40 KB, under the 64 KiB head bound
    with client_from(server, "127.0.0.3") as client:
        while error_of(call(client, "GET", LEVERAGE, wrong)) != "apiLimitExceeded":
            pass
    small_ms = _median_ms(server.port, "symbol=PF_XBTUSD", wrong, 40)
    big_ms = _median_ms(server.port, big, wrong, 40)
    print(f"locked out: 1 parameter {small_ms:.2f} ms, 10 000 parameters {big_ms:.2f} ms")
    assert big_ms < small_ms * 4 + 2, (small_ms, big_ms)  # a ratio in one run: the parse alone was 25×


def test_unknown_and_known_keys_with_a_wrong_signature_answer_alike(server: ServerProcess) -> None:
    unknown = ("U" * 56, world.ALICE_FULL[1])
    wrong = (world.ALICE_FULL[0], world.BOB_FULL[1])
    with client_from(server, "127.0.0.4") as a, client_from(server, "127.0.0.5") as b:
        first, second = call(a, "GET", ACCOUNTS, unknown), call(b, "GET", ACCOUNTS, wrong)
    assert (first.status_code, error_of(first)) == (200, "authenticationError")
    assert (second.status_code, error_of(second)) == (200, "authenticationError")
    assert sorted(first.headers.keys()) == sorted(second.headers.keys())
    assert len(first.content) == len(second.content)


def test_signing_is_not_tied_to_a_method_so_a_captured_get_replayed_as_a_put_is_documented(
    server: ServerProcess, http: httpx.Client
) -> None:
    """SPEC §2.4: the method is not signed. A captured ``GET ?symbol=X`` replayed as a PUT sets X to cross; the
    README's security section says so and what to do (TLS, --require-nonce)."""
    call(http, "PUT", LEVERAGE, world.ALICE_FULL, "symbol=PF_XBTUSD&maxLeverage=10")
    captured = signed_headers(world.ALICE_FULL, LEVERAGE, "symbol=PF_XBTUSD")
    assert http.get(httpx.URL(f"{LEVERAGE}?symbol=PF_XBTUSD"), headers=captured).json()["result"] == "success"
    assert resend(http, captured, "symbol=PF_XBTUSD").json()["result"] == "success"
    assert isolated(http) == []
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "replayed as a `PUT`" in readme
    assert "--require-nonce" in readme
    assert sign_b64(world.ALICE_FULL[1], "", "", LEVERAGE)  # the same formula signs every method
